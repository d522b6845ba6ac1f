"""Recipients: first party, known trackers and processors, unknown hosts."""

from __future__ import annotations

from toyaudit.classify import Classifier, RuleSet
from toyaudit.classify.recipients import RecipientRule
from toyaudit.classify.records import Party


def test_recipients_first_party_covers_subdomains(classifier: Classifier) -> None:
    recipient = classifier.recipient_for("eu.api.toyco.example")
    assert (recipient.party, recipient.owner) == (Party.FIRST_PARTY, "ToyCo")
    assert recipient.purpose == "the vendor's own service"


def test_recipients_first_party_is_not_a_mere_suffix(classifier: Classifier) -> None:
    assert classifier.recipient_for("eviltoyco.example").party is Party.UNKNOWN


def test_recipients_known_tracker_by_suffix(classifier: Classifier) -> None:
    recipient = classifier.recipient_for("region1.app-measurement.com")
    assert (recipient.party, recipient.owner, recipient.purpose) == (
        Party.TRACKER,
        "Google",
        "analytics",
    )


def test_recipients_wildcard_and_longest_match(classifier: Classifier) -> None:
    bucket = classifier.recipient_for("toyco-audio.s3.amazonaws.com")
    assert (bucket.party, bucket.purpose) == (Party.PROCESSOR, "cloud storage")
    hosting = classifier.recipient_for("ec2-1-2-3-4.compute.amazonaws.com")
    assert hosting.purpose == "cloud hosting"
    analytics = classifier.recipient_for("mobileanalytics.us-east-1.amazonaws.com")
    assert analytics.party is Party.TRACKER


def test_recipients_wildcard_excludes_the_bare_domain() -> None:
    rule = RecipientRule("*.example.com", "Example", "CDN", Party.PROCESSOR)
    assert rule.covers("cdn.example.com")
    assert not rule.covers("example.com")


def test_recipients_unknown_host(classifier: Classifier) -> None:
    recipient = classifier.recipient_for("Telemetry.Unheard-Of.Example.")
    assert recipient.host == "telemetry.unheard-of.example"
    assert (recipient.party, recipient.owner, recipient.purpose) == (
        Party.UNKNOWN,
        "",
        "unknown",
    )


def test_recipients_every_shipped_rule_is_tracker_or_processor(
    shipped_rules: RuleSet,
) -> None:
    for rule in shipped_rules.recipients:
        expected = (
            Party.TRACKER
            if rule.purpose in ("advertising", "analytics")
            else Party.PROCESSOR
        )
        assert rule.party is expected, rule.domain
