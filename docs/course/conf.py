"""Sphinx configuration of the course site: the notebooks in notebooks/, executed by MyST-NB.

Built by `./dev docs` (sphinx-build -c docs/course notebooks site); open site/index.html from
disk. Every notebook is run on the sandbox at build time, so the pages show real outputs and
the videos play from the page itself (they are embedded, so no server is needed).
"""

project = "omni-widgets course"
author = "omni-widgets"
extensions = ["myst_nb"]
root_doc = "index"
exclude_patterns = ["solutions/**", "**/.ipynb_checkpoints", "omni_outputs/**", "**/*.py"]
html_theme = "furo"
html_title = "omni-widgets: the course"
html_static_path: list[str] = []

# Run every notebook in a fresh temporary folder, fail the build on any error output.
nb_execution_mode = "force"
nb_execution_in_temp = True
nb_execution_timeout = 300
nb_execution_raise_on_error = True
nb_execution_show_tb = True
# No widget JavaScript from a CDN: the site must work offline (cards show their text instead).
nb_ipywidgets_js: dict[str, dict[str, str]] = {}
nb_output_stderr = "remove"
myst_enable_extensions = ["colon_fence"]
suppress_warnings = ["mystnb.unknown_mime_type"]
# Widget views need a kernel (or saved widget state): show their text fallback instead, which
# says what the card showed and that live status needs a running kernel.
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]
