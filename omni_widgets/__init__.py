"""omni-widgets: Gemini Omni Flash video generation in Jupyter."""

__version__ = "0.1.0"
