"""The default DTOC rate target of run and comparison reports (a leaf module, so that any
report module can read it without importing the package's entry point)."""

DEFAULT_TARGET = 9.4  # DTOC rate target, delayed patients per day per 100,000 adults (2017 BCF)
