"""Allow ``python -m toyaudit``, the same as the ``toyaudit`` command."""

from toyaudit.cli.app import main

main()
