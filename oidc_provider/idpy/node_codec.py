"""How a node of idpyoidc's session tree (``UserSessionInfo``, ``ClientSessionInfo``, ``Grant``) is
kept in its ``SessionNode`` row's ``data``, and made again from it.

A grant's row holds its ID tokens and the tokens minted with it; the others have rows of their own
(``idpy.grant_tokens``). A grant read back is ``idpy.grant_tokens``' subclass of its class, its
``issued_token`` a ``TokenList`` that reads those others as they are asked for.

A grant's row holds no token's value, only its keyed hash (defect 74, ``storage.token_values``),
and each derived token names its parent by reference; an ID token's value (~1.4 kB) is never read
back (only its ``session_id``: ``idpy.token_pruning``), so its reference is its own id. A token's usage
rules are most often its grant's for its class, and a grant's token map idpyoidc's default: neither
is repeated either, which keeps a client-credentials grant under PostgreSQL's 2 kB compression
threshold. Nor are the attributes of a grant and its tokens still at the value idpyoidc's
constructors give them (most of them, in every grant): loading leaves them at that value.
"""

from cryptojwt.utils import importer
from idpyoidc.server.session.grant import Grant, token_map_dump
from idpyoidc.server.session.token import TOKEN_MAP

from oidc_provider.idpy.fast import impexp
from oidc_provider.idpy.grant_tokens import LOADED_AS, RULES_REF, TokenList, TokenSource, without_defaults
from oidc_provider.storage.token_values import at_rest, loaded

_REF = "#"  # a based_on naming a token of the same grant by id; no token value or digest contains "#"
_DEFAULT_TOKEN_MAP = token_map_dump(TOKEN_MAP)  # what Grant() has when the row names none
# A grant's count of the tokens minted from it: nothing reads it (its usage rules are per token class,
# so ``Grant.max_usage_reached`` never applies), and kept it would make every refresh rewrite the row.
_GRANT_USE_COUNT = "used"


def dump(obj, tokens=None):
    """What a node's row holds (``subordinate`` is derived from the children's rows, never stored).
    ``tokens``: for a grant, the tokens its row keeps (by default all of ``issued_token``)."""
    if not isinstance(obj, Grant):
        return impexp.dump(obj, ["subordinate"])
    return compact(impexp.dump(obj, ["subordinate"], issued_token=tokens))


def _tokens(data):
    return [(name, token) for item in data.get("issued_token") or [] for name, token in item.items()]


def _is_ref(token):
    return (token.get("based_on") or "").startswith(_REF)


def _is_id_token(token):
    return token.get("token_class") == "id_token"


def compact(data):
    """A grant's dump (what ``Grant.dump`` makes) as its row holds it."""
    tokens = _tokens(data)
    digests = {token["id"]: at_rest(token["value"]) for _, token in tokens if not _is_id_token(token)}
    ids = {digest: token_id for token_id, digest in digests.items()}
    rules = data.get("usage_rules") or {}
    issued = []
    for name, token in tokens:
        # an ID token's: not emptied, as idpyoidc's recursive revoke_token(based_on=value) revokes all on a falsy one
        changes = {"value": _REF + token["id"] if _is_id_token(token) else digests[token["id"]]}
        if token.get("based_on"):
            parent = at_rest(token["based_on"])
            changes["based_on"] = _REF + ids[parent] if parent in ids else parent
        if token.get("usage_rules") and token["usage_rules"] == rules.get(token.get("token_class")):
            changes["usage_rules"] = RULES_REF
        issued.append({name: without_defaults({**token, **changes}, name.rpartition(".")[2])})
    compacted = without_defaults(
        {k: v for k, v in data.items() if k != _GRANT_USE_COUNT and (k != "token_map" or v != _DEFAULT_TOKEN_MAP)}
    )
    if tokens:
        compacted["issued_token"] = issued
    return compacted


def _expand(data):
    """``compact`` undone (bar the ID tokens' values and the default token map, which ``Grant()``
    sets), without touching ``data``: it is the baseline a node's new dump is compared with. A
    reference to a token no longer there reads as no parent, as ``prune_tokens`` would have left it."""
    tokens = _tokens(data)
    if not any(_is_ref(token) or token.get("usage_rules") == RULES_REF for _, token in tokens):
        return data
    values = {token["id"]: token["value"] for _, token in tokens}
    rules = data.get("usage_rules") or {}

    def resolved(token):
        token = dict(token)
        if _is_ref(token):
            parent = values.get(token.pop("based_on")[1:])  # a dump leaves an unset one out
            if parent:
                token["based_on"] = parent
        if token.get("usage_rules") == RULES_REF:
            token["usage_rules"] = rules.get(token.get("token_class")) or {}
        return token

    issued = [{name: resolved(token)} for name, token in tokens]
    return {**data, "issued_token": issued}


_CLASSES = {}


def load(class_name, data, key=None):
    """The idpyoidc object of class ``class_name`` (qualified name) a row's ``data`` holds. A grant whose
    row's ``key`` is given is read as ``idpy.grant_tokens``' subclass of its class, which reads the
    tokens that have rows of their own as they are asked for."""
    cls = _CLASSES.get((class_name, key is None))
    if cls is None:
        cls = importer(class_name)
        cls = _CLASSES[(class_name, key is None)] = cls if key is None else LOADED_AS.get(class_name, cls)
    if not issubclass(cls, Grant):
        return impexp.load(cls, data)
    grant = impexp.load(cls, _expand(data))
    for token in grant.issued_token:
        if token.token_class != "id_token":
            token.value = loaded(token.value)
        if token.based_on:
            token.based_on = loaded(token.based_on)
    if key is not None and cls in LOADED_AS.values():
        source = TokenSource(key, grant.usage_rules, [t.id for t in grant.issued_token])
        grant.issued_token = TokenList(grant.issued_token, source)
    return grant


def load_node(row):
    """The idpyoidc object (``UserSessionInfo``, ``ClientSessionInfo``, ``Grant``) a ``SessionNode`` holds."""
    return load(row.class_name, row.data, row.key)
