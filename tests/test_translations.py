"""Translations: every string a person reads is marked for translation, every shipped catalogue holds
each of them translated and compiled, and Django serves them from the installed package.

Two detectors find unmarked text: one reads the app's templates (Django's template lexer, then an
HTML parser over the text between tags), one walks the Python AST for the places Django shows a
string to a person (labels, help texts, validation errors, messages, error pages). Each is run on
small bad and good samples first, so that neither can pass by seeing nothing.
"""

import ast
import gettext
import importlib.util
import inspect
import os
import re
import shutil
from dataclasses import dataclass
from html.parser import HTMLParser
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.template.base import Lexer, TokenType
from django.test import Client as HttpClient
from django.utils import translation

import oidc_provider
from oidc_provider.server import reset_server
from oidc_provider.views.pages import error_page
from tests import flows

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(oidc_provider.__file__).resolve().parent
TEMPLATES = PACKAGE / "templates"
LOCALE = PACKAGE / "locale"
LANGUAGES = sorted(p.name for p in LOCALE.iterdir() if p.is_dir())


def load_dev():
    spec = importlib.util.spec_from_file_location("dev_script", ROOT / "dev.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def has_letters(text: str) -> bool:
    return re.search(r"[^\W\d_]", text) is not None


# ---------------------------------------------------------------------------------------------------
# Templates

# included raw into a <style> and a <script>: code, not text
NOT_TEXT = {"oidc_provider/page.css", "oidc_provider/form_post.js"}
# Text a person reads that stays as it is in every language, with the reason. Keyed by (template, text).
ALLOWED_TEXT: dict[tuple[str, str], str] = {}
# Stands for a tag or a variable in the text given to the HTML parser: not a letter, so never reported.
PLACEHOLDER = "\ue000"
# Blocks whose text is not shown as written: it is translated, or it is a comment.
UNSHOWN_BLOCKS = {"blocktranslate": "endblocktranslate", "blocktrans": "endblocktrans", "comment": "endcomment"}
# Attributes whose value a person reads (or a screen reader speaks).
READ_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label", "aria-description", "aria-roledescription", "label"}
BUTTON_INPUTS = {"submit", "button", "reset"}
# A quoted literal in a tag or variable, and where one is text: a variable that is only a literal, the
# argument of these filters, `firstof`, and these keyword arguments (`include ... with title="..."`).
LITERAL = re.compile(r"""(?P<quote>["'])(?P<text>(?:\\.|(?!(?P=quote)).)*)(?P=quote)""")
TEXT_FILTERS = re.compile(r"\|\s*(default|default_if_none|yesno)\s*:\s*$")
TEXT_KEYWORDS = re.compile(r"\b(title|label|description|message|heading|text|help_text|alt|placeholder)\s*=\s*$")


def literal_problems(token) -> list[str]:
    """Literals in ``token`` (a variable or a tag) that are shown as they are, untranslated."""
    contents = token.contents
    tag = contents.split()[0] if contents.split() else ""
    problems = []
    for match in LITERAL.finditer(contents):
        before = contents[: match.start()]
        if before.endswith("_(") or not has_letters(match["text"]):
            continue
        if token.token_type is TokenType.VAR:
            shown = not before.strip() or TEXT_FILTERS.search(before)
        else:
            shown = tag == "firstof" or TEXT_KEYWORDS.search(before)
        if shown:
            problems.append(match.group())
    return problems


class ReadText(HTMLParser):
    """The text between tags and in read attributes, outside <script> and <style>."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found = []
        self.code = None  # the <script> or <style> being read

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.code = tag
        attributes = dict(attrs)
        for name, value in attrs:
            read = name in READ_ATTRIBUTES or (
                name == "value" and tag == "input" and attributes.get("type") in BUTTON_INPUTS
            )
            if read and value and has_letters(value):
                self.found.append(f'{name}="{value.replace(PLACEHOLDER, "…")}"')

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        self.code = None

    def handle_endtag(self, tag):
        if tag == self.code:
            self.code = None

    def handle_data(self, data):
        if self.code is None:  # each run of text between template tags and variables on its own
            self.found += [" ".join(run.split()) for run in data.split(PLACEHOLDER) if has_letters(run)]


def untranslated_template_text(source: str) -> list[str]:
    """What a person reads in template ``source`` that no {% translate %} or {% blocktranslate %} covers."""
    problems, pieces = [], []
    inside = None  # the end tag of the unshown block being read
    for token in Lexer(source).tokenize():
        if token.token_type is TokenType.TEXT and inside is None:
            pieces.append(token.contents)
            continue
        if token.token_type is TokenType.BLOCK:
            tag = token.contents.split()[0] if token.contents.split() else ""
            if inside is None and tag in UNSHOWN_BLOCKS:
                inside = UNSHOWN_BLOCKS[tag]
            elif tag == inside:
                inside = None
        if token.token_type in (TokenType.VAR, TokenType.BLOCK):
            problems += literal_problems(token)
        pieces.append(PLACEHOLDER)
    reader = ReadText()
    reader.feed("".join(pieces))
    reader.close()
    return problems + reader.found


def page_templates() -> list[str]:
    names = sorted(p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*") if p.is_file())
    assert "oidc_provider/consent.html" in names and "oidc_provider/page.css" in names, names
    return [name for name in names if name not in NOT_TEXT]


@pytest.mark.parametrize(
    "source, found",
    [
        ("<h1>Sign in</h1>", ["Sign in"]),
        ("{% load i18n %}<p>{% translate 'Hello' %}, {{ user }}. Welcome</p>", [". Welcome"]),
        ('<button type="submit" name="decision" value="allow">Allow</button>', ["Allow"]),
        ('<img src="{{ logo }}" alt="Logo of {{ client }}">', ['alt="Logo of …"']),
        ('<iframe hidden title="sign-out"></iframe>', ['title="sign-out"']),
        ('<input type="submit" value="Continue">', ['value="Continue"']),
        ("{% block title %}Sign out?{% endblock %}", ["Sign out?"]),
        ('{{ title|default:"Leaving this site" }}', ['"Leaving this site"']),
        ("{{ 'Hello' }}", ["'Hello'"]),
        ('{% firstof name "Someone" %}', ['"Someone"']),
        ('{% include "oidc_provider/part.html" with title="Welcome" %}', ['"Welcome"']),
        ("{% if x %}Yes{% else %}No{% endif %}", ["Yes", "No"]),
        ("{% comment %}a note{% endcomment %}Shown", ["Shown"]),
        ("&rsaquo; Home", ["› Home"]),
    ],
)
def test_the_template_detector_finds_untranslated_text(source, found):
    assert untranslated_template_text(source) == found


@pytest.mark.parametrize(
    "source",
    [
        "{% load i18n %}<h1>{% translate 'Sign in' %}</h1>",
        "{% load i18n %}<p>{% blocktranslate with name=client %}<b>{{ name }}</b> asks{% endblocktranslate %}</p>",
        "{% load i18n %}{% blocktranslate count n=k %}one scope{% plural %}{{ n }} scopes{% endblocktranslate %}",
        '{% load i18n %}<img alt="{% translate "Logo" %}" src="{{ logo }}">',
        '{{ title|default:_("Leaving this site") }}',
        '<html lang="{{ LANGUAGE_CODE }}"><meta name="viewport" content="width=device-width, initial-scale=1">',
        '<form method="post" action="{% url "oidc_provider:end-session-confirm" %}"><input type="hidden" name="k">',
        "<script>// Front-Channel Logout: continue once loaded\nvar done = false;</script>",
        "<style>body { font-family: system-ui }</style>{# a comment #}",
        "{% comment %}Nothing to translate here{% endcomment %}",
        '{% extends "oidc_provider/base.html" %}{% include "oidc_provider/page.css" %}{{ value|date:"Y-m-d" }}',
        "&rsaquo; {{ client.client_id }} &mdash; 12:30 · 2/3",
    ],
)
def test_the_template_detector_accepts_translated_text(source):
    assert untranslated_template_text(source) == []


@pytest.mark.parametrize("name", page_templates())
def test_every_text_of_a_template_is_translatable(name):
    found = untranslated_template_text((TEMPLATES / name).read_text(encoding="utf-8"))
    found = [text for text in found if (name, text) not in ALLOWED_TEXT]
    assert found == [], f"{name}: mark for translation ({{% translate %}} / {{% blocktranslate %}}): {found}"


def test_every_allowed_text_is_still_in_its_template():
    for (name, text), reason in ALLOWED_TEXT.items():
        assert reason, f"{name}: {text!r} is allowed without a reason"
        assert text in untranslated_template_text((TEMPLATES / name).read_text(encoding="utf-8")), (name, text)


# ---------------------------------------------------------------------------------------------------
# Python

GETTEXT = {
    "_",
    "gettext",
    "gettext_lazy",
    "gettext_noop",
    "pgettext",
    "pgettext_lazy",
    "ngettext",
    "ngettext_lazy",
    "npgettext",
    "npgettext_lazy",
}
# keyword arguments, parameter defaults and assignments whose string a person reads
TEXT_NAMES = {
    "verbose_name",
    "verbose_name_plural",
    "help_text",
    "label",
    "title",
    "short_description",
    "empty_label",
    "empty_value_display",
    "site_header",
    "site_title",
    "index_title",
}
# assignments (a form's Meta) and keyword arguments whose dict values a person reads
TEXT_DICTS = {"help_texts", "labels", "error_messages"}
# calls that put their first argument into the page as it is
PASSED_ON = {"format_html", "format_lazy", "mark_safe", "str"}
MESSAGE_LEVELS = {"debug", "info", "success", "warning", "error"}
# where error_page takes the text it shows (its other positional arguments may be codes)
DESCRIPTION_AT = list(inspect.signature(error_page).parameters).index("description")


def call_name(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def is_messages_module(func: ast.expr) -> bool:
    """``func`` is ``messages.<level>``: django.contrib.messages, as the app imports it."""
    return isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "messages"


def shown_arguments(call: ast.Call) -> list[ast.expr]:
    """The arguments of ``call`` that Django shows a person."""
    name, args = call_name(call), call.args
    keywords = {k.arg: k.value for k in call.keywords if k.arg}
    shown = [value for key, value in keywords.items() if key in TEXT_NAMES | TEXT_DICTS]
    if name == "ValidationError":
        shown += args[:1] + [keywords[k] for k in ("message",) if k in keywords]
    elif name == "error_page":
        shown += args[DESCRIPTION_AT : DESCRIPTION_AT + 1] + [keywords[k] for k in ("description",) if k in keywords]
    elif name == "message_user" or (name in MESSAGE_LEVELS and is_messages_module(call.func)):
        shown += args[1:2] + [keywords[k] for k in ("message",) if k in keywords]
    elif name == "add_message":  # messages.add_message(request, level, message)
        shown += args[2:3] + [keywords[k] for k in ("message",) if k in keywords]
    elif name in ("display", "action"):  # @admin.display(description=...), @admin.action(description=...)
        shown += [keywords[k] for k in ("description",) if k in keywords]
    return shown


class UntranslatedCode(ast.NodeVisitor):
    def __init__(self, tree: ast.Module):
        # module-level constants, followed when a shown argument names one (error_page(request, EXPIRED))
        self.constants = {
            node.targets[0].id: node.value
            for node in tree.body
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
        }
        self.found: list[tuple[int, str]] = []

    def check(self, node: ast.expr, seen=()):
        """Report the untranslated text ``node`` evaluates to (as far as the module shows)."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if has_letters(node.value):
                self.found.append((node.lineno, repr(node.value)))
        elif isinstance(node, ast.JoinedStr):
            if any(isinstance(v, ast.Constant) and has_letters(v.value) for v in node.values):
                self.found.append((node.lineno, "an f-string"))
        elif isinstance(node, ast.Call):
            name = call_name(node)
            if name in GETTEXT:  # extraction needs a literal: gettext(f"...") finds nothing
                for arg in node.args:
                    if isinstance(arg, ast.JoinedStr | ast.BinOp):
                        self.found.append((arg.lineno, f"{name}() of a computed string"))
            elif name in PASSED_ON and node.args:
                self.check(node.args[0], seen)
            elif name == "format" and isinstance(node.func, ast.Attribute):
                self.check(node.func.value, seen)
        elif isinstance(node, ast.BinOp):
            self.check(node.left, seen)
            if isinstance(node.op, ast.Add):
                self.check(node.right, seen)
        elif isinstance(node, ast.IfExp):
            self.check(node.body, seen)
            self.check(node.orelse, seen)
        elif isinstance(node, ast.BoolOp | ast.List | ast.Tuple | ast.Set):
            for value in node.values if isinstance(node, ast.BoolOp) else node.elts:
                self.check(value, seen)
        elif isinstance(node, ast.Dict):
            for value in node.values:
                self.check(value, seen)
        elif isinstance(node, ast.Name) and node.id in self.constants and node.id not in seen:
            self.check(self.constants[node.id], (*seen, node.id))

    def check_choices(self, node: ast.expr):
        """The labels of ``choices=[(value, label), ...]`` (or of the module constant it names)."""
        if isinstance(node, ast.Name):
            node = self.constants.get(node.id, node)
        if isinstance(node, ast.List | ast.Tuple):
            for pair in node.elts:
                if isinstance(pair, ast.Tuple) and len(pair.elts) == 2:
                    self.check(pair.elts[1])

    def visit_Call(self, node):
        for value in shown_arguments(node):
            self.check(value)
        for keyword in node.keywords:
            if keyword.arg == "choices":
                self.check_choices(keyword.value)
        self.generic_visit(node)

    def visit_Assign(self, node):
        for target in node.targets:
            name = (
                target.id if isinstance(target, ast.Name) else target.attr if isinstance(target, ast.Attribute) else ""
            )
            if name in TEXT_NAMES | TEXT_DICTS:
                self.check(node.value)
        self.generic_visit(node)

    def visit_FunctionDef(self, node):
        arguments = node.args.posonlyargs + node.args.args
        defaults = list(zip(arguments[len(arguments) - len(node.args.defaults) :], node.args.defaults, strict=True))
        defaults += [(a, d) for a, d in zip(node.args.kwonlyargs, node.args.kw_defaults, strict=True) if d]
        for argument, default in defaults:
            if argument.arg in TEXT_NAMES:
                self.check(default)
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef


def untranslated_code(source: str) -> list[tuple[int, str]]:
    """(line, text) of every string in Python ``source`` shown to a person without gettext."""
    tree = ast.parse(source)
    visitor = UntranslatedCode(tree)
    visitor.visit(tree)
    return sorted(set(visitor.found))  # a constant used in several places once


def app_modules() -> list[str]:
    """The app's Python modules; migrations copy labels as literals (makemigrations) and are never shown."""
    names = sorted(p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)
    assert "admin.py" in names and "views/pages.py" in names, names
    return names


# error_page's arguments before its description, in a sample call
ARGUMENTS = "request, " + "None, " * (DESCRIPTION_AT - 1)


@pytest.mark.parametrize(
    "source, found",
    [
        ('name = models.CharField(verbose_name="name", help_text="Who it is.")', [(1, "'Who it is.'"), (1, "'name'")]),
        ('class Meta:\n    verbose_name = "OP session"', [(2, "'OP session'")]),
        ('class F:\n    class Meta:\n        help_texts = {"scope": "Space-separated"}', [(3, "'Space-separated'")]),
        (
            'raise ValidationError("A client_id cannot contain whitespace.")',
            [(1, "'A client_id cannot contain whitespace.'")],
        ),
        ('raise ValidationError(f"{uri} is not https")', [(1, "an f-string")]),
        ('raise ValidationError(message="Bad %s" % uri)', [(1, "'Bad %s'")]),
        ("messages.success(request, 'Saved.')", [(1, "'Saved.'")]),
        ("messages.add_message(request, messages.INFO, 'Saved.')", [(1, "'Saved.'")]),
        ('self.message_user(request, "Select one client.", messages.ERROR)', [(1, "'Select one client.'")]),
        (f'EXPIRED = "This page has expired."\nerror_page({ARGUMENTS}EXPIRED)', [(1, "'This page has expired.'")]),
        (
            f'error_page({ARGUMENTS}"Malformed request", title=TITLE)\nTITLE = "Cannot sign out"',
            [(1, "'Malformed request'"), (2, "'Cannot sign out'")],
        ),
        ('error_page(request, description="Malformed request")', [(1, "'Malformed request'")]),
        ("def error_page(request, description, status=400, title='Cannot complete'): ...", [(1, "'Cannot complete'")]),
        ('@admin.display(description="Client")\ndef f(obj): ...', [(1, "'Client'")]),
        ('@admin.action(description="New secret")\ndef f(modeladmin, request, queryset): ...', [(1, "'New secret'")]),
        ('f.short_description = "Revoked"', [(1, "'Revoked'")]),
        ('forms.MultipleChoiceField(choices=[("code", "Authorization code")])', [(1, "'Authorization code'")]),
        ('GRANTS = [("code", "Authorization code")]\nforms.ChoiceField(choices=GRANTS)', [(1, "'Authorization code'")]),
        ('forms.CharField(label=format_html("<b>{}</b> scope", x))', [(1, "'<b>{}</b> scope'")]),
        ('forms.CharField(label="{} scope".format(x))', [(1, "'{} scope'")]),
        ('forms.CharField(label=gettext(f"{x} scope"))', [(1, "gettext() of a computed string")]),
        ('forms.CharField(label="Yes" if x else "No")', [(1, "'No'"), (1, "'Yes'")]),
    ],
)
def test_the_code_detector_finds_untranslated_text(source, found):
    assert untranslated_code(source) == found


@pytest.mark.parametrize(
    "source",
    [
        'name = models.CharField(verbose_name=_("name"), help_text=gettext_lazy("Who it is."))',
        'class Meta:\n    verbose_name = pgettext_lazy("model", "OP session")',
        'raise ValidationError(gettext("%(uri)s is not https") % {"uri": uri}, code="invalid_uri")',
        "raise ValidationError(problem)",
        'messages.success(request, ngettext("%d client", "%d clients", n) % n)',
        f'EXPIRED = gettext_lazy("This page has expired.")\nerror_page({ARGUMENTS}EXPIRED)',
        '@admin.display(description=_("Client"), ordering="client_id")\ndef f(obj): ...',
        'forms.CharField(label=format_html(gettext("<b>{}</b> scope"), x))',
        'forms.MultipleChoiceField(choices=[("code", _("Authorization code"))])',
        'parser.add_argument("--kind", choices=["opaque", "jwt"])',
        # program-facing text: OAuth error descriptions, logs, system checks, other libraries' messages
        'raise InvalidRequest("Malformed request")',
        'logger.warning("client %s not found", client_id)',
        'errors.append(Error("OIDC_PROVIDER[\'ISSUER\'] is not set", id="oidc_provider.E001"))',
        'messages.append("a line of a system check")',
        "messages.EndSessionRequest(title_of='x')",
        'return {"error": "invalid_request", "error_description": "Unknown client"}',
        "def page(request, status=400, kind='plain'): ...",
    ],
)
def test_the_code_detector_accepts_translated_text(source):
    assert untranslated_code(source) == []


@pytest.mark.parametrize("name", app_modules())
def test_every_user_facing_string_of_the_code_is_translatable(name):
    found = untranslated_code((PACKAGE / name).read_text(encoding="utf-8"))
    assert found == [], f"oidc_provider/{name}: mark with gettext / gettext_lazy / pgettext: {found}"


# ---------------------------------------------------------------------------------------------------
# Catalogues


@dataclass
class Entry:
    context: str | None
    msgid: str
    plural: str | None
    msgstrs: list[str]
    fuzzy: bool

    @property
    def key(self):
        return self.context, self.msgid, self.plural


def read_po(text: str) -> list[Entry]:
    """The entries of a PO file (header included; obsolete ``#~`` entries left out)."""
    entries, fields, flags, field = [], {}, set(), None

    def flush():
        nonlocal fields, flags, field
        if "msgid" in fields:
            forms = sorted((k for k in fields if k.startswith("msgstr")), key=lambda k: int(k[7:-1] or 0))
            strings = [fields[k] for k in forms]
            entries.append(
                Entry(fields.get("msgctxt"), fields["msgid"], fields.get("msgid_plural"), strings, "fuzzy" in flags)
            )
        fields, flags, field = {}, set(), None

    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#~"):
            continue
        if not line or (field and field.startswith("msgstr") and line.startswith(("#", "msgctxt", "msgid"))):
            flush()
        if line.startswith("#,"):
            flags |= {flag.strip() for flag in line[2:].split(",")}
        elif line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ") if not line.startswith('"') else (field, "", line)
            field = keyword
            fields[field] = fields.get(field, "") + ast.literal_eval(rest)
    flush()
    return entries


def compiled_form(entries: list[Entry]) -> dict:
    """What msgfmt puts in a .mo for ``entries``, keyed as gettext.GNUTranslations keys its catalogue:
    the translated entries that are not fuzzy (the header apart)."""
    catalogue = {}
    for entry in entries:
        if entry.msgid == "" or entry.fuzzy or not all(entry.msgstrs):
            continue
        msgid = entry.msgid if entry.context is None else f"{entry.context}\x04{entry.msgid}"
        if entry.plural is None:
            catalogue[msgid] = entry.msgstrs[0]
        else:
            catalogue.update({(msgid, n): text for n, text in enumerate(entry.msgstrs)})
    return catalogue


def test_the_po_reader_reads_contexts_plurals_flags_and_continued_lines():
    text = r"""# header
#, fuzzy
msgid ""
msgstr ""
"Language: fr\n"
"Plural-Forms: nplurals=2; plural=(n > 1);\n"

#: views/pages.py
msgctxt "consent button"
msgid "Allow"
msgstr "Autoriser"

#, fuzzy, python-format
msgid "It asks for %(n)s scope:"
msgid_plural "It asks for %(n)s scopes:"
msgstr[0] "Il demande %(n)s "
"portée :"
msgstr[1] ""

msgid "A \"quoted\" line\n"
"and another"
msgstr "Une ligne « citée »\n"
"et une autre"

#~ msgid "Gone"
#~ msgstr "Parti"
"""
    entries = read_po(text)
    assert [(e.key, e.msgstrs, e.fuzzy) for e in entries] == [
        ((None, "", None), ["Language: fr\nPlural-Forms: nplurals=2; plural=(n > 1);\n"], True),
        (("consent button", "Allow", None), ["Autoriser"], False),
        ((None, "It asks for %(n)s scope:", "It asks for %(n)s scopes:"), ["Il demande %(n)s portée :", ""], True),
        ((None, 'A "quoted" line\nand another', None), ["Une ligne « citée »\net une autre"], False),
    ]
    assert compiled_form(entries) == {
        'A "quoted" line\nand another': "Une ligne « citée »\net une autre",
        "consent button\x04Allow": "Autoriser",
    }


def catalogue(lang: str) -> Path:
    return LOCALE / lang / "LC_MESSAGES" / "django.po"


def extracted_keys(tmp_path, monkeypatch) -> set:
    """The (context, msgid, plural) of every string the app's sources mark, as `dev.py messages` takes them."""
    if shutil.which("xgettext") is None:
        if os.environ.get("OIDC_TEST_REQUIRE_GETTEXT") == "1":
            pytest.fail("xgettext (GNU gettext) is not installed and OIDC_TEST_REQUIRE_GETTEXT=1")
        pytest.skip("xgettext (GNU gettext) is not installed: the sources' strings cannot be extracted")
    copy = tmp_path / "oidc_provider"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "locale"))
    (copy / "locale").mkdir()
    monkeypatch.chdir(copy)
    call_command(*load_dev().MAKEMESSAGES, "--locale=xx", stdout=StringIO())
    po = copy / "locale" / "xx" / "LC_MESSAGES" / "django.po"  # none when nothing is marked
    entries = read_po(po.read_text(encoding="utf-8")) if po.exists() else []
    return {entry.key for entry in entries if entry.msgid}


def assigned(path: Path, name: str):
    """The literal a settings module assigns to ``name``, read without importing it (it reads .env)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    values = [n.value for n in tree.body if isinstance(n, ast.Assign) and ast.unparse(n.targets[0]) == name]
    assert len(values) == 1, f"{path} assigns {name} {len(values)} times"
    return ast.literal_eval(values[0])


def test_the_shipped_languages_are_the_settings_languages():
    """French ships, and every language the app ships is one the sites (example project, tests) offer."""
    assert "fr" in LANGUAGES
    for path in (ROOT / "example_project" / "settings.py", ROOT / "tests" / "settings.py"):
        assert [code for code, _ in assigned(path, "LANGUAGES")] == ["en", *LANGUAGES], path
        assert assigned(path, "LANGUAGE_CODE") == "en"
        middleware = assigned(path, "MIDDLEWARE")  # where Django's documentation puts it
        at = middleware.index("django.middleware.locale.LocaleMiddleware")
        assert middleware[at - 1 : at + 2] == [
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.locale.LocaleMiddleware",
            "django.middleware.common.CommonMiddleware",
        ]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_catalogue_holds_every_marked_string_and_no_other(lang, tmp_path, monkeypatch):
    wanted = extracted_keys(tmp_path, monkeypatch)
    held = {entry.key for entry in read_po(catalogue(lang).read_text(encoding="utf-8")) if entry.msgid}
    assert sorted(wanted - held, key=str) == [], f"not in the {lang} catalogue: run `python3 dev.py messages`"
    assert sorted(held - wanted, key=str) == [], f"stale in the {lang} catalogue: run `python3 dev.py messages`"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_entry_is_translated_and_reviewed(lang):
    text = catalogue(lang).read_text(encoding="utf-8")
    entries = read_po(text)
    assert "#~" not in text, "obsolete entries: run `python3 dev.py messages`"
    assert [e.msgid for e in entries if not all(e.msgstrs)] == [], f"untranslated in {catalogue(lang)}"
    # msgmerge marks a guess `fuzzy` (and a new catalogue's header): a translator checks it, then removes the flag
    assert [e.msgid for e in entries if e.fuzzy] == [], f"fuzzy in {catalogue(lang)}: review, then drop the flag"
    header = dict(line.split(": ", 1) for line in entries[0].msgstrs[0].splitlines())
    assert header["Language"] == lang and header["Content-Type"] == "text/plain; charset=UTF-8"
    assert header["Plural-Forms"].startswith("nplurals=")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_compiled_catalogue_is_its_source(lang):
    """The committed .mo is what msgfmt makes of the committed .po (recompile: `python3 dev.py messages`)."""
    entries = read_po(catalogue(lang).read_text(encoding="utf-8"))
    with open(catalogue(lang).with_suffix(".mo"), "rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    held = {key: text for key, text in compiled._catalog.items() if key != ""}
    assert held == compiled_form(entries)
    header = dict(line.split(": ", 1) for line in entries[0].msgstrs[0].splitlines())
    assert compiled._info["plural-forms"] == header["Plural-Forms"]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_django_serves_every_entry_from_the_package(lang):
    """The installed app's locale directory is the one Django reads (no LOCALE_PATHS comes first here)."""
    assert Path(apps.get_app_config("oidc_provider").path) == PACKAGE and not settings.LOCALE_PATHS
    entries = read_po(catalogue(lang).read_text(encoding="utf-8"))
    entries = [e for e in entries if e.msgid and all(e.msgstrs) and not e.fuzzy]  # the others: tests above
    with open(catalogue(lang).with_suffix(".mo"), "rb") as mo:
        form_of = gettext.GNUTranslations(mo).plural  # n -> the index of its plural form in this language
    with translation.override(lang):
        for e in entries:
            if e.plural is None:
                served = [translation.pgettext(e.context, e.msgid) if e.context else translation.gettext(e.msgid)]
                assert served == e.msgstrs
                continue
            for n in (0, 1, 2, 5, 21):
                if e.context:
                    served = translation.npgettext(e.context, e.msgid, e.plural, n)
                else:
                    served = translation.ngettext(e.msgid, e.plural, n)
                assert served == e.msgstrs[form_of(n)], (e.msgid, n)


# ---------------------------------------------------------------------------------------------------
# A page in French


@pytest.fixture
def consent_page(db):
    """GET the consent page of a fresh authorization request as alice, with an Accept-Language header."""
    reset_server()
    flows.make_client()
    get_user_model().objects.create_user("alice", "alice@example.com", "pw")

    def get(accept_language=None):
        headers = {"accept-language": accept_language} if accept_language else {}
        browser = HttpClient(headers=headers)
        browser.login(username="alice", password="pw")
        _, challenge = flows.pkce_pair()
        response = browser.get("/oidc/authorize", flows.auth_params(challenge))
        assert response.status_code == 302 and response["Location"].startswith("/oidc/consent"), response
        return browser.get(response["Location"]).content.decode()

    yield get
    reset_server()


def button(page: str, value: str) -> str:
    match = re.search(rf'<button[^>]*\bvalue="{value}"[^>]*>(.*?)</button>', page, flags=re.S)
    assert match, page
    return " ".join(re.sub(r"<[^>]+>", "", match[1]).split())


@pytest.mark.parametrize(
    "accept_language, lang, allow, deny",
    [
        (None, "en", "Allow", "Deny"),
        ("fr", "fr", "Autoriser", "Refuser"),
        ("fr-CA,fr;q=0.9,en;q=0.5", "fr", "Autoriser", "Refuser"),
        ("de-DE,de;q=0.9", "en", "Allow", "Deny"),  # not shipped: the site's LANGUAGE_CODE
    ],
)
def test_the_consent_page_is_in_the_browser_language(consent_page, accept_language, lang, allow, deny):
    page = consent_page(accept_language)
    assert re.search(rf'<html[^>]*\blang="{lang}"', page)
    assert (button(page, "allow"), button(page, "deny")) == (allow, deny)
