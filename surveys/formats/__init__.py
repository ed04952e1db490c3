"""Response formats other than winback's own: each module has ``read`` (and ``write``)."""
