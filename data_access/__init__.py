"""Everything that touches the database: schema, engine, named queries and writes."""
