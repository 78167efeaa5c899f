"""A loaded grant whose tokens are read as the request needs them.

idpyoidc keeps every code and token of a grant in its ``issued_token`` list, and looks one up by
walking that list. Stored whole in the grant's row, a refresh-token chain rotated a thousand times made
every refresh read and write a thousand tokens. Here a grant's row keeps only its ID tokens and the
tokens minted with it (a code, a client-credentials token); tokens minted later have rows of their
own (``IssuedToken``, ``storage.token_rows``). Every grant is a ``Grant`` (or ``ExchangeGrant``) of this
module, a new one too (``idpy.session_manager``); a grant read from the database has a ``TokenList`` as its
``issued_token``: the tokens of its row, the ones the request asked for (read with the grant,
``idpy.session_tree``), and the ones minted since. A new grant's is a plain list, which these classes
hand to idpyoidc's methods.

- ``get_token`` (and so ``find_scope``) looks in memory, then reads that one token's row (with its
  parent, if a refresh token): a miss costs one statement, never the grant's other tokens;
- ``revoke_token()`` (every token: a replay, RFC 9700 §4.14.2; RFC 7009 for a refresh token) marks the
  tokens in memory and has ``flush`` revoke the rest with one ``UPDATE``;
- ``last_issued_token_of_type("id_token")`` needs no statement: ID tokens are all in the grant's row;
- ``minted_from`` (the successors of a refresh token presented again, the access token an ID token
  is minted with) reads the rows of the tokens minted from one token, or finds them in memory;
- anything that walks the whole list (``revoke_token`` of one token and its descendants, as a
  replayed code does; a dump) reads the grant's other tokens first, so it sees what idpyoidc would
  (``tests/protocol/test_token_rows.py`` compares the answers with idpyoidc's ``Grant``).

This module also says how a token is kept in its row (``token_row``, ``token_from_row``): as in a grant's
row (``idpy.node_codec``), its value and parent only as keyed digests, usage rules equal to its grant's
for its class as ``"#"``, attributes at their constructors' values left out; its use count and
``revoked`` are columns, so a set of tokens is revoked by one statement.
"""

import json

from cryptojwt.utils import importer, qualified_name
from idpyoidc.server.session.grant import ExchangeGrant as IdpyExchangeGrant
from idpyoidc.server.session.grant import Grant as IdpyGrant
from idpyoidc.util import qualified_name as instance_name

from oidc_provider.idpy.fast import impexp
from oidc_provider.idpy.fast.payload import OpaquePayload
from oidc_provider.idpy.lazy_list import loads_before_use
from oidc_provider.storage import token_rows
from oidc_provider.storage.token_values import StoredValue, at_rest, presented

ID_TOKEN = "id_token"
REFRESH_TOKEN = "refresh_token"
AUTHORIZATION_CODE = "authorization_code"  # minted with its grant, so in the grant's row (since 0011_token_rows)
RULES_REF = "#"  # usage rules equal to the grant's for the token's class
DEFAULTS = {
    "expires_at": 0,
    "not_before": 0,
    "revoked": False,
    "used": 0,
    "claims": {},
    "extra": {},
    "resources": [],
    "scope": [],
}
_COLUMNS = ("value", "based_on", "used", "revoked")  # kept in columns of the token's row, not in its data


def without_defaults(data, name=None):
    """``data`` without the attributes still at the value idpyoidc's constructors give them (and
    ``name``, a token's class name, when it is that)."""
    return {
        k: v for k, v in data.items() if not (k in DEFAULTS and v == DEFAULTS[k]) and not (k == "name" and v == name)
    }


# -- a token's row -------------------------------------------------------------------------------------


def _data(token, rules):
    data = impexp.dump(token)
    for column in _COLUMNS:
        data.pop(column, None)
    if token.usage_rules and token.usage_rules == rules.get(token.token_class):
        data["usage_rules"] = RULES_REF
    return without_defaults(data, type(token).__name__)


def token_row(token, rules):
    """The row of ``token`` (of a grant whose usage rules are ``rules``): ``(digest, token_class,
    class_name, based_on, used, revoked, expires_at, data)``, ``expires_at`` in seconds (0: none)."""
    return (
        at_rest(token.value),
        token.token_class,
        instance_name(token),
        at_rest(token.based_on) if token.based_on else "",
        token.used,
        bool(token.revoked),
        token.expires_at or 0,
        _data(token, rules),
    )


_CLASSES = {}


def token_from_row(row, rules):
    """The token a row holds, ``(digest, class_name, based_on, used, revoked, data)`` (``data``
    decoded), in a grant whose usage rules are ``rules``."""
    digest, class_name, based_on, used, revoked, data = row
    cls = _CLASSES.get(class_name)
    if cls is None:
        cls = _CLASSES[class_name] = importer(class_name)
    item = dict(data, used=used, revoked=bool(revoked))
    if item.get("usage_rules") == RULES_REF:
        item["usage_rules"] = rules.get(item.get("token_class")) or {}
    token = impexp.load(cls, item)
    token.value = StoredValue(digest)
    token.based_on = StoredValue(based_on) if based_on else None
    return token


# -- a loaded grant's tokens ---------------------------------------------------------------------------


class TokenSource:
    """What one loaded grant's ``TokenList`` knows of the grant's tokens beyond those in memory, and
    what ``flush`` needs to write them: which were in the grant's row, which were read from rows of
    their own (with what they held then), whether all of them were read, and whether all are to be
    revoked."""

    def __init__(self, key, rules, row_ids):
        self.key = key
        self.rules = dict(rules or {})  # the grant's usage rules when read: what "#" stands for
        self.row_ids = set(row_ids)  # ids of the tokens kept in the grant's row
        self.read = {}  # id of a token read from its own row -> (digest, (used, revoked, data) as read)
        self.absent = set()  # digests looked for and not found
        self.complete = False
        self.revoke_all = False

    def stored(self, token):
        return token.id in self.row_ids or token.id in self.read


@loads_before_use("complete", except_for=("append",))  # minting reads nothing
class TokenList(list):
    """A loaded grant's ``issued_token`` (see the module): whole-list operations read the grant's
    other tokens first; ``append`` (minting) does not."""

    def __init__(self, tokens, source):
        super().__init__(tokens)
        self.source = source

    def in_memory(self):
        """The tokens read or minted so far, without reading any more."""
        return list(list.__iter__(self))

    def add_rows(self, rows, wanted=()):
        """Take the tokens of ``rows`` (``storage.token_rows.COLUMNS``) read for this grant; the
        ``wanted`` digests not among them are known absent."""
        source = self.source
        known = {at_rest(t.value) for t in self.in_memory() if source.stored(t) and t.token_class != ID_TOKEN}
        stored = sum(1 for t in self.in_memory() if source.stored(t))
        added = []
        for digest, class_name, based_on, used, revoked, grant_key, data in rows:
            if digest in known or grant_key != source.key:  # another grant's (read by digest alone)
                continue
            known.add(digest)
            data = json.loads(data) if isinstance(data, str) else data
            token = token_from_row((digest, class_name, based_on, used, revoked, data), source.rules)
            source.read[token.id] = (digest, (used, bool(revoked), data))  # what flush compares with
            added.append(token)
        list.__setitem__(self, slice(stored, stored), added)  # after the stored ones, before the minted
        source.absent.update(set(wanted) - known)
        return added

    def find(self, value):
        """``Grant.get_token``: the token whose value is ``value`` (raw or a ``StoredValue``), or None."""
        for token in self.in_memory():
            if token.value == value:
                return token
        source = self.source
        digest = presented(value)
        if source.complete or digest in source.absent:
            return None
        for token in self.add_rows(token_rows.by_digest([digest]), [digest]):
            if token.value == value:
                return token
        return None

    def minted_from(self, value):
        """The tokens minted from the token ``value``, all of them (their rows read if need be)."""
        if not self.source.complete:
            self.add_rows(token_rows.minted_from(self.source.key, at_rest(value)))
        return [t for t in self.in_memory() if t.based_on and t.based_on == value]

    def complete(self):
        """Read every token of the grant not in memory yet; the list in the order they were issued."""
        source = self.source
        if source.complete:
            return
        self.add_rows(token_rows.of_grant(source.key))
        source.complete = True
        tokens = self.in_memory()
        stored = sorted((t for t in tokens if source.stored(t)), key=lambda t: t.issued_at)
        list.__setitem__(self, slice(None), stored + [t for t in tokens if not source.stored(t)])


def in_memory(tokens):
    """The tokens of an ``issued_token`` list read or minted so far, without reading any more."""
    return tokens.in_memory() if isinstance(tokens, TokenList) else list(tokens)


def minted_from(grant, value, token_class, newest_only=False):
    """The tokens of ``token_class`` minted from the token ``value`` in ``grant``, oldest first.
    ``newest_only``: only the newest matters, so those in memory (minted by this request) settle it."""
    tokens = grant.issued_token
    found = [t for t in in_memory(tokens) if t.token_class == token_class and t.based_on and t.based_on == value]
    if isinstance(tokens, TokenList) and not (newest_only and found):
        found = [t for t in tokens.minted_from(value) if t.token_class == token_class]
    return found


class TokenRows:
    """The methods of a grant that look at its tokens, for a grant read from the database (on a new
    grant's plain list they are idpyoidc's)."""

    def get_token(self, value):
        tokens = self.issued_token
        return tokens.find(value) if isinstance(tokens, TokenList) else super().get_token(value)

    def revoke_token(self, value="", based_on="", recursive=True):
        tokens = self.issued_token
        if not isinstance(tokens, TokenList):
            return super().revoke_token(value, based_on, recursive)
        if not value and not based_on and not self.remove_inactive_token:
            for token in tokens.in_memory():
                token.revoked = True
            tokens.source.revoke_all = True  # the others by one statement, when the unit's work is done
            return None
        tokens.complete()
        super().revoke_token(value, based_on, recursive)
        if not isinstance(self.issued_token, TokenList):  # the stock method leaves a plain list
            self.issued_token = TokenList(self.issued_token, tokens.source)
        return None

    def last_issued_token_of_type(self, token_class):
        tokens = self.issued_token
        if isinstance(tokens, TokenList) and token_class != ID_TOKEN:
            tokens.complete()
        result = None
        for token in in_memory(tokens):
            if token.token_class == token_class and (result is None or token.issued_at > result.issued_at):
                result = token
        return result


class Grant(OpaquePayload, TokenRows, IdpyGrant):
    """idpyoidc's ``Grant``, as this OP makes and reads it (see the module; ``idpy.fast.payload``)."""


class ExchangeGrant(OpaquePayload, TokenRows, IdpyExchangeGrant):
    """idpyoidc's ``ExchangeGrant``, as this OP makes and reads it (see the module; ``idpy.fast.payload``)."""


# idpyoidc's class -> the one a grant of that class is read as; rows name idpyoidc's
LOADED_AS = {qualified_name(IdpyGrant): Grant, qualified_name(IdpyExchangeGrant): ExchangeGrant}
STOCK_NAME = {cls: name for name, cls in LOADED_AS.items()}


def class_name(obj):
    """The class name a node's row holds: idpyoidc's, for a grant read as one of this module's."""
    return STOCK_NAME.get(type(obj)) or qualified_name(type(obj))
