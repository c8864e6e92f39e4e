"""The identity providers the draft stores log in through, as the tests stub them: Microsoft's tenant
metadata and an app-only Graph token (client credentials), Google's JWT-bearer token endpoint and a
service account key. Shared by the draft store tests (tests/connectors/test_mail_drafts.py) and
`relevo doctor`'s (tests/test_doctor.py).
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from functools import cache

import responses

from relevo.connectors.health import token_claims

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
LOGIN = f"https://login.microsoftonline.com/{TENANT}"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"


def form_of(request) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    body = request.body
    return urllib.parse.parse_qs(body.decode() if isinstance(body, bytes) else body)


@cache
def service_account_key() -> str:
    """A Google service account JSON key, as the Cloud console downloads it, with a fresh RSA key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        .decode()
    )
    return json.dumps(
        {
            "type": "service_account",
            "project_id": "acme-relevo",
            "private_key_id": "5d41402abc4b2a76",
            "private_key": pem,
            "client_email": "relevo@acme-relevo.iam.gserviceaccount.com",
            "client_id": "113021587291237345678",
            "token_uri": GOOGLE_TOKEN_URI,
        }
    )


def google_token_endpoint(mock, issued: list[str]):  # type: ignore[no-untyped-def]
    """Google's OAuth token endpoint for the JWT-bearer grant: a token named after the assertion's `sub`."""

    def answer(request):  # type: ignore[no-untyped-def]
        form = form_of(request)
        assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
        claims = token_claims(form["assertion"][0])
        assert claims["scope"] == "https://www.googleapis.com/auth/gmail.compose"
        assert claims["iss"] == "relevo@acme-relevo.iam.gserviceaccount.com"
        issued.append(claims["sub"])
        token = f"ya29.{claims['sub']}-{issued.count(claims['sub'])}"
        return 200, {}, json.dumps({"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    mock.add_callback(responses.POST, GOOGLE_TOKEN_URI, callback=answer)


def openid_configuration(mock):  # type: ignore[no-untyped-def]
    """The tenant's OpenID metadata MSAL reads once (the token endpoint), as Microsoft's login serves it."""
    mock.get(
        f"{LOGIN}/v2.0/.well-known/openid-configuration",
        json={
            "token_endpoint": f"{LOGIN}/oauth2/v2.0/token",
            "authorization_endpoint": f"{LOGIN}/oauth2/v2.0/authorize",
            "issuer": f"https://login.microsoftonline.com/{TENANT}/v2.0",
            "device_authorization_endpoint": f"{LOGIN}/oauth2/v2.0/devicecode",
            "end_session_endpoint": f"{LOGIN}/oauth2/v2.0/logout",
        },
    )


def graph_token(n: int) -> str:
    """An app-only token shaped like Graph's (a JWT whose `roles` lists the application permissions)."""

    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    claims = {"aud": "https://graph.microsoft.com", "roles": ["Mail.ReadWrite"], "n": n}
    return f"{part({'typ': 'JWT', 'alg': 'RS256'})}.{part(claims)}.sig"
