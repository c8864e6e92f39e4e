"""Registry builders for the API-backed social connectors: settings and secrets named when wrong."""

from __future__ import annotations

import pytest
import requests

from relevo.connectors.hootsuite import HootsuiteConnector
from relevo.connectors.linkedin import LinkedInConnector
from relevo.connectors.meta import MetaPageConnector
from relevo.connectors.scim import ScimConnector
from relevo.connectors.tiktok import TikTokConnector
from relevo.model import ConfigurationError
from tests.support.canaries import TOKEN as CANARY

TOKEN = {"env": "RELEVO_TEST_TOKEN"}


def api(presence_id: str, connector: str, **settings) -> dict:
    return {
        "id": presence_id,
        "platform": connector,
        "account": f"Acme {connector}",
        "owner": "company",
        "connector": connector,
        "settings": {"token": TOKEN, **settings},
    }


def test_each_connector_name_builds_its_class_with_the_resolved_token(registry_with) -> None:
    registry = registry_with(
        [
            api("scim", "scim", base_url="http://127.0.0.1:9/v2"),
            api("page", "meta_page", page_id="1", business_id="2"),
            api("hoot", "hootsuite", organization_id="3"),
            api("tiktok", "tiktok", bc_id="4"),
            api("linkedin", "linkedin", organization_id="5"),
        ]
    )
    built = [registry.social(p) for p in registry.presences]
    assert [type(c) for c in built] == [
        ScimConnector,
        MetaPageConnector,
        HootsuiteConnector,
        TikTokConnector,
        LinkedInConnector,
    ]
    sent = [
        c.client.session.prepare_request(requests.Request("GET", c.client.base_url)).headers for c in built
    ]
    assert all(CANARY in h.values() or f"Bearer {CANARY}" in h.values() for h in sent)
    assert all(
        c.client.redact(f"x {CANARY} y") == "x *** y" and CANARY not in repr(c.client.session.auth)
        for c in built
    )


def test_missing_setting_is_named(registry_with) -> None:
    registry = registry_with([api("page", "meta_page", business_id="2")])
    with pytest.raises(
        ConfigurationError, match=r"presence 'page': settings.page_id is required for connector 'meta_page'"
    ):
        registry.social(registry.presences[0])


def test_missing_secret_names_the_variable_not_a_value(registry_with, monkeypatch) -> None:
    registry = registry_with([api("scim", "scim", base_url="http://127.0.0.1:9/v2")])
    monkeypatch.delenv("RELEVO_TEST_TOKEN")
    with pytest.raises(
        ConfigurationError, match="settings.token: environment variable RELEVO_TEST_TOKEN is not set"
    ):
        registry.social(registry.presences[0])
