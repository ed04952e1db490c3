"""HB multinomial logit estimation, diagnostics, part-worths, simulator, offer and tier search.

Planned (issues 4 and 5): ``fit``, ``convergence_report``, ``simulate``, ``optimize_offer``.
"""
