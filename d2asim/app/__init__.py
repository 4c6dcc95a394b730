"""The web app for planners (``d2asim app``): Streamlit pages over the service layer."""
