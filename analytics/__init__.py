"""Pure pandas / statsmodels statistics: no Streamlit, no SQL."""
