"""Classify: apply the YAML rules to observations and say what personal data they carry.

Load the rules once with :func:`load_rules` (usually
``load_rules([default_rules_dir(), *user_folders])``), build one
:class:`Classifier` per session, and call :meth:`Classifier.classify` on every
observation. Each :class:`~toyaudit.classify.records.Match` names the category
and tier of the data, how it was recognised, where in the observation, through
which decodings, and who received it. Severity is decided later, by assess,
from :attr:`RuleSet.severity`. The rule format is described in docs/rules.md.
"""

from toyaudit.classify.classifier import Classifier
from toyaudit.classify.rules import (
    RuleSet,
    SeverityRules,
    default_rules_dir,
    load_rules,
)

__all__ = ["Classifier", "RuleSet", "SeverityRules", "default_rules_dir", "load_rules"]
