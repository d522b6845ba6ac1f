"""The ``toyaudit`` command line (placeholder until the CLI lands)."""


def main() -> None:
    """Entry point of the ``toyaudit`` console script."""
