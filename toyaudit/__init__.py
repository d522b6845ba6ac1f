"""toyaudit: audit the privacy and security of children's smart toys.

The package is a pipeline. ``session`` reads a stored capture session, ``ingest``
turns its evidence files into a stream of observations, ``classify`` applies the
YAML rules to them, ``assess`` turns matches into findings with a severity, and
``report`` renders findings for parents, regulators and machines. ``audit`` wires
one session through the stages; ``cli`` is a thin shell around ``audit``.
"""

__version__ = "0.1.0"
