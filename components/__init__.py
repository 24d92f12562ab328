"""Streamlit building blocks: the shell, cards, charts and forms."""
