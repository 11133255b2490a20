"""Sphinx configuration of the dask-asgd documentation.

Build (from the repository root; warnings are errors, as in CI)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html
"""

from __future__ import annotations

import dask_asgd

# -- project -----------------------------------------------------------------------------------
project = "dask-asgd"
author = "The dask-asgd developers"
copyright = "the dask-asgd developers"
version = dask_asgd.__version__
release = dask_asgd.__version__

# -- general -----------------------------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]

# The site's pages are index, getting-started, usage, clustering, design, network, benchmarks,
# api and changelog.
exclude_patterns = [
    "_build",
    "Thumbs.db",
    ".DS_Store",
]

# -- autodoc / autosummary ---------------------------------------------------------------------
autosummary_generate = True
# which members a class page documents is set by its template (docs/_templates/autosummary)
autodoc_typehints = "none"  # the types are in the numpydoc Parameters sections

# -- numpydoc ----------------------------------------------------------------------------------
# Members are listed by the autosummary templates (docs/_templates/autosummary); numpydoc's own
# member tables would list every method a second time.
numpydoc_show_class_members = False
numpydoc_attributes_as_param_list = True
numpydoc_validation_checks = {
    "all",
    "ES01",  # an extended summary is not needed where the one-line summary says it all
    "SA01",  # "See Also" sections are optional
    "EX01",  # "Examples" sections are given for the estimators, not for every method
    "RT02",  # named single return values (``self : object``), as scikit-learn writes them
}

# -- myst --------------------------------------------------------------------------------------
myst_heading_anchors = 3

# -- html --------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"dask-asgd {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_static_path: list[str] = []


# -- references into scikit-learn's documentation -----------------------------------------------
# The methods the estimators inherit from scikit-learn (set_output, get_metadata_routing,
# set_{method}_request) refer to labels and glossary terms of scikit-learn's own site, and the
# docstrings name scikit-learn's classes and functions.  They are linked to its pages here,
# without intersphinx (the build needs no network).
SKLEARN_DOCS = "https://scikit-learn.org/stable/"
SKLEARN_REFERENCES = {
    # (role, target): (page, text for a reference written without a title)
    ("ref", "metadata_routing"): ("metadata_routing.html", "Metadata Routing"),
    ("ref", "df_output_transform"): ("modules/df_output_transform.html", "set_output API"),
    ("ref", "sphx_glr_auto_examples_miscellaneous_plot_set_output.py"): (
        "auto_examples/miscellaneous/plot_set_output.html",
        "Introducing the set_output API",
    ),
    ("term", "meta-estimator"): ("glossary.html#term-meta-estimator", "meta-estimator"),
}


def _sklearn_reference(app, env, node, contnode):
    """Link a reference that scikit-learn's docstrings make to scikit-learn's site."""
    from docutils import nodes

    target = node.get("reftarget", "")
    if node.get("refdomain") == "py" and target.startswith("sklearn."):
        # scikit-learn's API pages: modules/generated/<full name>.html
        uri = f"{SKLEARN_DOCS}modules/generated/{target}.html"
        ref = nodes.reference("", "", refuri=uri, internal=False)
        ref += contnode
        return ref
    key = (node.get("reftype"), target)
    if node.get("refdomain") != "std" or key not in SKLEARN_REFERENCES:
        return None
    page, text = SKLEARN_REFERENCES[key]
    title = contnode.astext()
    if title == target:  # written without a title
        title = text
    return nodes.reference("", title, refuri=SKLEARN_DOCS + page, internal=False)


def setup(app):
    app.connect("missing-reference", _sklearn_reference)
