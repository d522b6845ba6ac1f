"""Recipients: first party, known trackers and processors, unknown hosts."""

from __future__ import annotations

import pytest

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


@pytest.mark.parametrize(
    ("host", "party", "owner", "purpose"),
    [
        ("api.openai.com", Party.PROCESSOR, "OpenAI", "AI processing"),
        ("westeurope.stt.speech.microsoft.com", Party.PROCESSOR, "Microsoft",
         "speech processing"),
        ("transcribestreaming.eu-west-1.amazonaws.com", Party.PROCESSOR, "Amazon",
         "speech processing"),
        ("a1b2c3-ats.iot.us-east-1.amazonaws.com", Party.PROCESSOR, "Amazon",
         "cloud hosting"),
        ("avs-alexa-fe.amazon.com", Party.PROCESSOR, "Amazon", "speech processing"),
        ("1-courier.push.apple.com", Party.PROCESSOR, "Apple", "push notifications"),
        ("a1.tuyaeu.com", Party.PROCESSOR, "Tuya", "cloud hosting"),
        ("toyhub.azure-devices.net", Party.PROCESSOR, "Microsoft", "cloud hosting"),
        ("launches.appsflyersdk.com", Party.TRACKER, "AppsFlyer", "advertising"),
        ("sdk-api.kidoz.net", Party.TRACKER, "Kidoz", "advertising"),
        ("ads.superawesome.tv", Party.TRACKER, "Epic Games", "advertising"),
        ("o123.ingest.sentry.io", Party.PROCESSOR, "Sentry", "crash reporting"),
    ],
)  # fmt: skip
def test_recipients_known_services_by_owner_and_purpose(
    classifier: Classifier, host: str, party: Party, owner: str, purpose: str
) -> None:
    recipient = classifier.recipient_for(host)
    assert (recipient.party, recipient.owner, recipient.purpose) == (
        party,
        owner,
        purpose,
    )


def test_recipients_regional_service_beats_the_cloud_catch_all(
    classifier: Classifier,
) -> None:
    speech = classifier.recipient_for("polly.eu-central-1.amazonaws.com")
    other = classifier.recipient_for("polly.sa-east-1.amazonaws.com")
    assert speech.purpose == "speech processing"
    assert other.purpose == "cloud hosting"


def test_recipients_shipped_domains_are_lower_case_host_names(
    shipped_rules: RuleSet,
) -> None:
    for rule in shipped_rules.recipients:
        labels = rule.suffix.split(".")
        assert rule.domain == rule.domain.lower(), rule.domain
        assert len(labels) >= 2, rule.domain
        assert all(
            label and set(label) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")
            for label in labels
        ), rule.domain
        assert rule.owner, rule.domain
