"""``manage.py createclient``: register a relying party without the admin."""

import json

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from oidc_provider.crypto import generate_client_secret
from oidc_provider.metadata import (
    ACCESS_TOKEN_FORMATS,
    REGISTRABLE_GRANT_TYPES,
    SUBJECT_TYPES,
    MetadataError,
    client_keys_problem,
    encryption_metadata,
    grant_types_problem,
    jwks_problem,
    jwks_uri_problem,
    redirect_uri_problem,
    request_object_alg_problem,
    request_uris_problem,
    scope_problem,
    sector_document_problem,
    signing_alg_problem,
    subject_type_problem,
    token_exchange_problem,
)
from oidc_provider.models import Client
from oidc_provider.protocol import (
    ALL_RESPONSE_TYPES,
    AUTH_METHODS,
    DEFAULT_ENCRYPTION_ENC,
    ENCRYPTED_RESPONSES,
    ENCRYPTION_ALGS,
    SECRET_METHODS,
)
from oidc_provider.response_types import grant_types_for, response_types_problem


def validate_redirect_uri(uri: str, option: str) -> str:
    problem = redirect_uri_problem(uri)
    if problem:
        raise CommandError(f"{option}: {problem}")
    return uri


class Command(BaseCommand):
    help = "Create an OpenID Connect client. Prints its client_id and (once) its client_secret."

    def add_arguments(self, parser):
        parser.add_argument("--client-id", required=True)
        parser.add_argument("--client-secret", help="Generated and printed when omitted.")
        parser.add_argument("--name", default="", help="client_name shown on the consent page")
        parser.add_argument("--redirect-uri", action="append", default=[], dest="redirect_uris")
        parser.add_argument("--post-logout-redirect-uri", action="append", default=[], dest="post_logout_redirect_uris")
        parser.add_argument(
            "--grant-type", action="append", default=[], dest="grant_types", choices=REGISTRABLE_GRANT_TYPES
        )
        parser.add_argument(
            "--response-type",
            action="append",
            default=[],
            dest="response_types",
            choices=ALL_RESPONSE_TYPES,
            help="Default: code. Others only if RESPONSE_TYPES enables them (docs/hybrid-and-implicit.md)",
        )
        parser.add_argument(
            "--scope", default="", help="Space-separated allowed scopes (default: every configured scope)"
        )
        parser.add_argument(
            "--token-endpoint-auth-method",
            choices=AUTH_METHODS,
            default=None,
        )
        parser.add_argument("--skip-consent", action="store_true", help="Trusted client: no consent page")
        parser.add_argument("--require-pkce", action="store_true")
        parser.add_argument(
            "--require-pushed-authorization-requests",
            action="store_true",
            help="Every authorization request must be pushed first (RFC 9126 §6)",
        )
        parser.add_argument(
            "--dpop", action="store_true", help="dpop_bound_access_tokens (RFC 9449): every token request needs a proof"
        )
        parser.add_argument("--public", action="store_true", help="Public client: no secret, PKCE required")
        parser.add_argument(
            "--jwks", help="The client's public JWK Set, as JSON or @path/to/file.json (private_key_jwt)"
        )
        parser.add_argument("--jwks-uri", default="", help="Where the client publishes its JWK Set (private_key_jwt)")
        parser.add_argument("--id-token-signed-response-alg", default="", help="Default: SIGNING_ALG")
        parser.add_argument("--userinfo-signed-response-alg", default="", help="Default: userinfo as plain JSON")
        for kind in ENCRYPTED_RESPONSES:  # OIDC Registration §2; docs/encryption.md
            flag = kind.replace("_", "-")
            parser.add_argument(
                f"--{flag}-encrypted-response-alg", default="", help=f"{', '.join(ENCRYPTION_ALGS)}; default: none"
            )
            parser.add_argument(
                f"--{flag}-encrypted-response-enc", default="", help=f"Default with an alg: {DEFAULT_ENCRYPTION_ENC}"
            )
        parser.add_argument("--access-token-format", choices=ACCESS_TOKEN_FORMATS, default="", help="Default: the OP's")
        parser.add_argument(
            "--subject-type",
            choices=SUBJECT_TYPES,
            default="public",
            help="pairwise: a sub of its own per sector (docs/pairwise.md)",
        )
        parser.add_argument(
            "--sector-identifier-uri",
            default="",
            help="https; a JSON array of every redirect URI, fetched now (needed for pairwise on several hosts)",
        )
        parser.add_argument(
            "--request-uri",
            action="append",
            default=[],
            dest="request_uris",
            help="A URL the OP may fetch this client's request objects from (RFC 9101 §5.2; repeatable)",
        )
        parser.add_argument(
            "--request-object-signing-alg",
            default="",
            help="The only algorithm its request objects may use (default: any the OP accepts)",
        )
        parser.add_argument(
            "--token-exchange-policy",
            default="",
            metavar="JSON",
            help="RFC 8693 policy (default: the OP's; docs/token-exchange.md)",
        )

    def handle(self, *args, **opts):
        client_id = opts["client_id"].strip()
        if not client_id or any(c.isspace() for c in client_id) or len(client_id) > 255:
            raise CommandError("--client-id must be 1-255 characters without whitespace")
        if Client.objects.filter(client_id=client_id).exists():
            raise CommandError(f"A client with client_id {client_id!r} already exists")
        redirect_uris = [validate_redirect_uri(u, "--redirect-uri") for u in opts["redirect_uris"]]
        logout_uris = [
            validate_redirect_uri(u, "--post-logout-redirect-uri") for u in opts["post_logout_redirect_uris"]
        ]
        scopes = opts["scope"].split()
        problem = scope_problem(scopes)
        if problem:
            raise CommandError(f"--scope: {problem}")
        method = opts["token_endpoint_auth_method"] or ("none" if opts["public"] else "client_secret_basic")
        if opts["public"] and method != "none":
            raise CommandError("--public clients use --token-endpoint-auth-method none")
        if method == "none" and not opts["public"]:
            raise CommandError("--token-endpoint-auth-method none requires --public")
        if opts["public"] and opts["client_secret"]:
            raise CommandError("--public clients have no secret")
        if method == "private_key_jwt" and opts["client_secret"]:
            raise CommandError("private_key_jwt clients have no secret: they sign with their private key")
        jwks = self.read_jwks(opts["jwks"]) if opts["jwks"] else None
        problem = (
            (jwks_problem(jwks) if jwks is not None else None)
            or (jwks_uri_problem(opts["jwks_uri"]) if opts["jwks_uri"] else None)
            or client_keys_problem(method, jwks, opts["jwks_uri"])
            or signing_alg_problem(opts["id_token_signed_response_alg"])
            or signing_alg_problem(opts["userinfo_signed_response_alg"])
        )
        if problem:
            raise CommandError(problem)
        try:
            encryption = encryption_metadata(
                {
                    f"{kind}_encrypted_response_{part}": opts[f"{kind}_encrypted_response_{part}"]
                    for kind in ENCRYPTED_RESPONSES
                    for part in ("alg", "enc")
                    if opts[f"{kind}_encrypted_response_{part}"]
                },
                jwks,
                opts["jwks_uri"],
            )
        except MetadataError as err:
            raise CommandError(err.description) from err
        secret = (opts["client_secret"] or generate_client_secret()) if method in SECRET_METHODS else None
        response_types = list(dict.fromkeys(opts["response_types"] or ["code"]))
        # by default the grant types the response types need (OIDC Registration §2)
        default_grants = sorted(set().union(*map(grant_types_for, response_types)), key=REGISTRABLE_GRANT_TYPES.index)
        grant_types = list(dict.fromkeys(opts["grant_types"] or default_grants))
        if "offline_access" in scopes and "refresh_token" not in grant_types:
            grant_types.append("refresh_token")
        problem = grant_types_problem(grant_types, redirect_uris, opts["public"])
        if problem:
            raise CommandError(f"--grant-type: {problem}")
        problem = response_types_problem(response_types, grant_types)
        if problem:
            raise CommandError(f"--response-type: {problem}")
        try:
            policy = json.loads(opts["token_exchange_policy"]) if opts["token_exchange_policy"] else {}
        except ValueError as err:
            raise CommandError(f"--token-exchange-policy is not JSON: {err}") from err
        problem = policy and token_exchange_problem(policy)
        if problem:
            raise CommandError(f"--token-exchange-policy: {problem}")
        sector_uri = opts["sector_identifier_uri"]
        problem = subject_type_problem(opts["subject_type"], sector_uri, redirect_uris) or (
            sector_document_problem(sector_uri, redirect_uris) if sector_uri else None
        )
        if problem:
            raise CommandError(problem)
        request_uris = list(dict.fromkeys(opts["request_uris"]))
        problem = request_uris_problem(request_uris) or request_object_alg_problem(
            opts["request_object_signing_alg"], method
        )
        if problem:
            raise CommandError(problem)
        client = Client(
            client_id=client_id,
            client_name=opts["name"],
            redirect_uris=redirect_uris,
            post_logout_redirect_uris=logout_uris,
            grant_types=grant_types,
            response_types=response_types,
            token_endpoint_auth_method=method,
            scope=" ".join(scopes),
            skip_consent=opts["skip_consent"],
            require_pkce=opts["require_pkce"] or opts["public"],
            require_pushed_authorization_requests=opts["require_pushed_authorization_requests"],
            registered_via="command",
            jwks=jwks,
            jwks_uri=opts["jwks_uri"],
            id_token_signed_response_alg=opts["id_token_signed_response_alg"],
            userinfo_signed_response_alg=opts["userinfo_signed_response_alg"],
            access_token_format=opts["access_token_format"],
            token_exchange=policy,
            subject_type=opts["subject_type"],
            dpop_bound_access_tokens=opts["dpop"],
            sector_identifier_uri=sector_uri,
            **encryption,
            request_uris=request_uris,
            request_object_signing_alg=opts["request_object_signing_alg"],
        )
        client.set_secret(secret)
        with transaction.atomic():
            client.save()
        self.stdout.write(f"client_id={client_id}")
        if secret:
            self.stdout.write(f"client_secret={secret}")
            if not opts["client_secret"]:
                self.stdout.write(self.style.WARNING("Store the secret now: it is kept only as a hash."))

    @staticmethod
    def read_jwks(value: str):
        try:
            if value.startswith("@"):
                with open(value[1:]) as file:
                    return json.load(file)
            return json.loads(value)
        except (OSError, ValueError) as err:
            raise CommandError(f"--jwks: {err}") from err
