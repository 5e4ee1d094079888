"""Keep secrets out of every output, in two layers.

1. Patterns (`redact`, `redact_argv`, `redact_value`): secrets a node's text can hold, found the
   way their consumers parse them.
   - URL userinfo. SQLAlchemy's URL regex takes everything from `user:` to the first `@` as the
     password, `/ ? # :` included; kombu, redis-py and urllib take everything up to the last `@`
     of the netloc. The mask covers both: from `user:` to the LAST `@` of the URL (a URL in text
     ends at whitespace, a value is one URL). A user part that no parser would take as a user
     (holding `/ ? # @`) is masked with the password: `mysql+pymysql://***@host/db`.
   - `key=value` and `key: value` whose key names a secret (password, passwd, secret, token,
     fernet_key, api_key, ...), `=` only for short keys (`pwd`, `pass`, `pw`, `auth`, or ending in
     `_PWD`, `_PASS`, `_AUTH`: `MYSQL_PWD=`, `REDISCLI_AUTH=`). In a URL query (`?password=`,
     `&pwd=`) the value ends at `&`, as `parse_qsl` reads it; elsewhere at whitespace (a quoted
     value at its closing quote).
   - `AIRFLOW__SECTION__KEY=value`: the value is masked unless the option is one the grader reports
     and that never holds a secret (`AIRFLOW_ALLOWED`). Deny by default: `_CONN`, `_URL`,
     `_BACKEND`, `_CMD`, `_SECRET`, keys and anything new are masked whole.
   - Command lines: `--password=X`, `--password X` (and `--pass`, `--conn-password`,
     `--requirepass`, `--token`, ... for any program); `mysql`/`mysqladmin`/`mysqldump`/mariadb
     `-pX` (glued only: `-p X` prompts, X is the database); `redis-cli -a X`, `AUTH X`,
     `CONFIG SET requirepass X`; `airflow users ... -p X`. A program word resets at `;`, `&&`, `|`.
   A placeholder such as `<password>` (the hints' own text) is not a value and stays.
2. Known values (`secrets`): every password the grader resolved from a URL, the champion's
   password, the JWT token, and every password seen on a command line or in an environment
   (`command_line_secrets`, `shell_secrets`, `env_secrets`), masked verbatim, percent-decoded and
   percent-encoded (`secret_forms`). Values shorter than 3 characters are not masked everywhere.

Every function here is linear in its input: no regex can backtrack over more than one word.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote, quote_plus, unquote

MASK = "***"
MIN_SECRET = 3  # a known value shorter than this is not masked in every text

# Options the grader reports whose value never holds a secret: shown in `AIRFLOW__...=value`.
AIRFLOW_ALLOWED = frozenset(
    {
        "AIRFLOW__CORE__EXECUTOR",
        "AIRFLOW__CORE__AUTH_MANAGER",
        "AIRFLOW__CORE__DAGS_FOLDER",
        "AIRFLOW__CORE__LOAD_EXAMPLES",
        "AIRFLOW__API__AUTH_BACKENDS",
        "AIRFLOW__API__AUTH_BACKEND",
        "AIRFLOW__API__PORT",
        "AIRFLOW__SCHEDULER__CATCHUP_BY_DEFAULT",
        "AIRFLOW__WEBSERVER__WEB_SERVER_PORT",
    }
)
# Key words that make `key=value` / `key: value` a secret.
_STRONG_KEYS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "fernet_key",
    "api_key",
    "apikey",
    "access_key",
    "private_key",
    "credential",
)
_SHORT_KEYS = ("pwd", "pass", "pw", "auth")  # the whole key, or its last `_`/`-`/`.` part; `=` only
# Long options (any program) whose value is a secret: `--NAME=X` or `--NAME X`.
_SECRET_OPTIONS = frozenset(
    {"password", "passwd", "pass", "pwd", "requirepass", "masterauth", "secret", "token", "auth"}
    | {"api-key", "apikey", "secret-key", "fernet-key", "access-key", "conn-password"}
)
_SECRET_OPTION_ENDS = ("-password", "_password", "-passwd", "-secret", "_secret", "-token", "_token")
MYSQL_CLIENTS = frozenset(
    {"mysql", "mysqladmin", "mysqldump", "mysqlimport", "mysqlcheck", "mysqlshow", "mysqlslap"}
    | {"mysqlpump", "mysqlbinlog", "mysql_upgrade", "mysqlsh", "mariadb", "mariadb-admin"}
    | {"mariadb-dump", "mariadb-import", "mariadb-check", "mariadb-show", "mariadb-slap"}
    | {"mariadb-upgrade", "mariadb-binlog"}
)
REDIS_CLIENTS = frozenset({"redis-cli", "redis6-cli", "valkey-cli", "redis-benchmark", "redis6-benchmark"})
_SEPARATORS = frozenset({";", "&&", "||", "|", "&", "(", ")", "{", "}", "`", "then", "do", "else"})
_QUOTES = "'\""

_TOKEN = re.compile(r"\S+")
_SPACE = re.compile(r"\s")
# A key at a word start, then `=` or `:` (an optional closing quote between: `"password": "x"`).
_KEY = re.compile(r"(?<![\w.\-])([A-Za-z_][\w.\-]*)([\"']?)[ \t]*([=:])")
_UNQUOTED = re.compile(r"\S*")
_QUERY_VALUE = re.compile(r"[^&\s]*")
_PLACEHOLDER = re.compile(r"[\"']?<[^<>\"']*>[\"']?")
_ANSWER = re.compile(r"(?:YES|NO)\)?,?")  # MySQL's "(using password: YES)" is not a password
_ASSIGNMENT = re.compile(r"([A-Za-z_][\w.\-]*)=")
# Shell words: unquoted runs, escapes, '...' and "..." (atomic: nothing is scanned twice).
_SHELL_WORD = re.compile(r"""(?:[^\s'"\\]++|\\.?|'[^']*+'|"(?:[^"\\]++|\\.)*+"|['"])++""", re.S)
_SHELL_PIECE = re.compile(r"""'([^']*+)'|"((?:[^"\\]++|\\.)*+)"|\\(.)""", re.S)
_ESCAPED = re.compile(r"\\(.)", re.S)
# Nothing in text can be a command-line password without one of these.
_COMMAND_TRIGGER = re.compile(r"-[pa]|--|auth|requirepass|masterauth", re.I)


# ---- keys and options --------------------------------------------------------------------------


def _short_key(key: str) -> bool:
    """`pwd`, `MYSQL_PWD`, `db.pass`, `REDISCLI_AUTH`: a short secret word as the key's last part."""
    return key.lower().replace(".", "_").replace("-", "_").rsplit("_", 1)[-1] in _SHORT_KEYS


def secret_key(key: str, sep: str = "=") -> bool:
    """A key whose value is a secret by its name (`MYSQL_PWD`, `smtp_password`, `fernet_key`);
    a short name only before `=` (`pass: 3` is not one)."""
    lower = key.lower()
    return any(word in lower for word in _STRONG_KEYS) or (sep == "=" and _short_key(key))


def _masked_key(key: str, sep: str) -> bool:
    """Whether `key<sep>value` has its value masked in text: secret names, and `AIRFLOW__*=`
    except the options in AIRFLOW_ALLOWED."""
    if sep == "=" and key.upper().startswith("AIRFLOW__"):
        return key.upper() not in AIRFLOW_ALLOWED
    return secret_key(key, sep)


def _secret_option(token: str) -> tuple[str, str, str] | None:
    """`--password=X` -> ("--password", "=", "X"); `--pass` -> ("--pass", "", ""); else None."""
    if not token.startswith("--"):
        return None
    name, eq, value = token.partition("=")
    lower = name[2:].lower()
    if lower in _SECRET_OPTIONS or lower.endswith(_SECRET_OPTION_ENDS):
        return name, eq, value
    return None


def _placeholder(value: str) -> bool:
    return value == MASK or bool(_PLACEHOLDER.fullmatch(value))


# ---- URLs ----------------------------------------------------------------------------------------


def _userinfo(url: str) -> tuple[int, int, str | None] | None:
    """The password span of the first URL in `url` (start, end, shown user or None), if any.

    The userinfo runs from after `scheme://` to the last `@` of `url`; the password from its first
    `:`. A user holding `/ ? # @` is not one a parser would read: it is masked too (None)."""
    head = url.find("://")
    if head < 0:
        return None
    start = head + 3
    at = url.rfind("@", start)
    if at < 0:
        return None
    colon = url.find(":", start, at)
    if colon < 0:
        return None  # `user@host`: no password to any parser
    user = url[start:colon]
    if any(c in user for c in "/?#@") or any(c.isspace() for c in user):
        return start, at, None
    return colon + 1, at, user


def _mask_url(url: str) -> str:
    found = _userinfo(url)
    if found is None:
        return url
    start, end, user = found
    if user is None:
        return url[: url.find("://") + 3] + MASK + url[end:]
    if start == end or _placeholder(url[start:end]):
        return url
    return url[:start] + MASK + url[end:]


def url_secrets(value: str) -> set[str]:
    """Every password a consumer could read from the URL `value` (one whole value, spaces and all):
    to the last `@` (kombu, urllib), to the first `@` (SQLAlchemy), and `?password=`-style query
    values (SQLAlchemy passes them to the driver)."""
    out = {value[s:e] for s, e in _assignment_spans(value, secret_key)}
    found = _userinfo(value)
    if found is not None:
        start, end, _ = found
        password = value[start:end]
        out.add(password)
        first_at = password.find("@")
        if first_at > 0:
            out.add(password[:first_at])
    return {s for s in out if s and s != MASK}  # `<password>` too: a trainee may have pasted the hint


def _map_tokens(text: str, fn: Any) -> str:
    if "://" not in text:
        return text
    parts: list[str] = []
    last = 0
    for match in _TOKEN.finditer(text):
        token = match.group()
        if "://" in token:
            parts.append(text[last : match.start()])
            parts.append(fn(token))
            last = match.end()
    parts.append(text[last:])
    return "".join(parts)


def redact_url(text: str) -> str:
    """Mask the password of every URL in text (a URL ends at whitespace).

    `mysql+pymysql://airflow:Bespin12!@127.0.0.1/airflow` -> `mysql+pymysql://airflow:***@127.0.0.1/airflow`."""
    return _map_tokens(text, _mask_url)


# ---- key=value -------------------------------------------------------------------------------------


def _value_end(text: str, pos: int, query: bool) -> int:
    """Where the value starting at `pos` ends: `&` in a query, a closing quote, else whitespace."""
    if query:
        match = _QUERY_VALUE.match(text, pos)
        return match.end() if match else pos
    if pos < len(text) and text[pos] in _QUOTES:
        close = text.find(text[pos], pos + 1)
        if close < 0:
            newline = text.find("\n", pos)
            return len(text) if newline < 0 else newline
        pos = close + 1  # `'ab'cd` is one shell word
    match = _UNQUOTED.match(text, pos)
    return match.end() if match else pos


def _assignment_spans(text: str, wanted: Any = _masked_key) -> Iterator[tuple[int, int]]:
    """(start, end) of every value in `key=value` / `key: value` text whose key is `wanted`."""
    pos = 0
    while True:
        match = _KEY.search(text, pos)
        if match is None:
            return
        key, sep = match.group(1), match.group(3)
        if not wanted(key, sep):
            pos = match.end()
            continue
        start = match.end()
        while start < len(text) and text[start] in " \t":
            start += 1
        query = match.start() > 0 and text[match.start() - 1] in "?&;"
        end = _value_end(text, start, query)
        value = text[start:end]
        if value and not _placeholder(value) and not (sep == ":" and _ANSWER.fullmatch(value)):
            yield start, end
        pos = max(end, match.end())


# ---- command lines ---------------------------------------------------------------------------------


def _program(token: str) -> str:
    return token.strip(_QUOTES + "`(){}$;").rsplit("/", 1)[-1]


def _quote_close(tokens: Sequence[str], index: int, start: int) -> int:
    """The token that closes a quote opened at `tokens[index][start]` (`-p'a b'`), else `index`."""
    token = tokens[index]
    quote_char = token[start : start + 1]
    if not quote_char or quote_char not in _QUOTES or token.find(quote_char, start + 1) >= 0:
        return index
    for ahead in range(index + 1, min(len(tokens), index + 16)):
        if quote_char in tokens[ahead]:
            return ahead
    return index


def _command_spans(tokens: Sequence[str], *, quoted: bool) -> Iterator[tuple[int, int, int, int]]:
    """Passwords in a command line split into `tokens`: (first token, start, last token, end).

    `quoted`: the tokens are shell text, where a quoted value may span tokens (`-p'a b'`); else
    they are argv elements and a value is one whole element."""
    context: str | None = None
    take = 0  # how many following tokens are secret values
    index = 0
    count = len(tokens)

    def span(first: int, start: int) -> tuple[int, int, int, int] | None:
        last = _quote_close(tokens, first, start) if quoted else first
        value = " ".join([tokens[first][start:], *tokens[first + 1 : last + 1]])
        if not value or (quoted and _placeholder(value)):
            return None
        end = len(tokens[last])
        if quoted and end - (start if last == first else 0) > 1 and tokens[last].endswith(";"):
            end -= 1  # `-pX;`: the shell ends the command there
        return first, start, last, end

    while index < count:
        token = tokens[index]
        found = None
        if take:
            if token in _SEPARATORS:
                context, take = None, 0
            else:
                take -= 1
                found = span(index, 0)
        elif token[:1] == "-":
            option = _secret_option(token) if token[:2] == "--" else None
            if option is not None:
                name, eq, _ = option
                if eq:
                    found = span(index, len(name) + 1)
                else:
                    take = 1
            elif context in ("mysql", "airflow-users") and token[:2] == "-p" and len(token) > 2:
                found = span(index, 2)
            elif (context == "redis" and token == "-a") or (context == "airflow-users" and token == "-p"):
                take = 1
        elif token in _SEPARATORS:
            context = None
        else:
            program = _program(token)
            if program in MYSQL_CLIENTS:
                context = "mysql"
            elif program in REDIS_CLIENTS:
                context = "redis"
            elif program == "airflow":
                context = "airflow"
            elif context == "airflow" and token == "users":
                context = "airflow-users"
            elif context == "redis":
                lower = token.lower()
                if lower in ("requirepass", "masterauth"):
                    take = 1
                elif lower == "auth":
                    take = 2 if index + 2 < count and tokens[index + 2] not in _SEPARATORS else 1
        if found is not None:
            yield found
            index = found[2]
        if tokens[index][-1:] == ";":
            context, take = None, 0
        index += 1


def _redact_command_text(text: str) -> str:
    if not _COMMAND_TRIGGER.search(text):
        return text
    matches = list(_TOKEN.finditer(text))
    spans = [
        (matches[first].start() + start, matches[last].start() + end)
        for first, start, last, end in _command_spans([m.group() for m in matches], quoted=True)
    ]
    return _apply(text, spans)


def _apply(text: str, spans: Iterable[tuple[int, int]]) -> str:
    parts: list[str] = []
    last = 0
    for start, end in sorted(spans):
        if start < last:  # overlapping: extend the mask already written
            start = last
        if end <= start:
            continue
        parts.append(text[last:start])
        parts.append(MASK)
        last = end
    parts.append(text[last:])
    return "".join(parts)


# ---- known values ------------------------------------------------------------------------------------


def secret_forms(secrets: Iterable[str]) -> set[str]:
    """Each secret as written, percent-decoded and percent-encoded (of at least MIN_SECRET chars)."""
    out: set[str] = set()
    for secret in secrets:
        if not isinstance(secret, str) or not secret:
            continue
        plain = unquote(secret)
        out.update({secret, plain, quote(plain, safe=""), quote_plus(plain), quote(secret, safe="")})
    return {s for s in out if len(s) >= MIN_SECRET}


def _mask_known(text: str, forms: Sequence[str]) -> str:
    for _ in range(3):  # a mask can join two pieces into another secret: a few rounds settle it
        before = text
        for secret in forms:
            if secret in text:
                text = text.replace(secret, MASK)
        if text == before:
            break
    return text


def _sorted_forms(secrets: Iterable[str]) -> list[str]:
    return sorted(secret_forms(secrets), key=len, reverse=True)


# ---- the public gate ---------------------------------------------------------------------------------


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask URL passwords, secret `key=value`s, command-line passwords and every known secret."""
    text = redact_url(text)
    text = _redact_command_text(text)
    text = _apply(text, _assignment_spans(text))
    forms = _sorted_forms(secrets)
    return _mask_known(text, forms) if forms else text


def redact_value(value: str, secrets: Iterable[str] = ()) -> str:
    """`redact` for one whole value (an option, an environment value): a URL in it may hold spaces."""
    if "://" in value:
        value = _mask_url(value)
    return redact(value, secrets)


def redact_argv(argv: Sequence[str], secrets: Iterable[str] = ()) -> list[str]:
    """`redact` for a process's argv: an option's value is a whole element, spaces and all."""
    spans: dict[int, list[tuple[int, int]]] = {}
    for index, start, _, end in _command_spans(argv, quoted=False):
        spans.setdefault(index, []).append((start, end))
    out = []
    for index, arg in enumerate(argv):
        arg = _apply(arg, spans.get(index, []))
        assignment = _ASSIGNMENT.match(arg)
        if assignment and _masked_key(assignment.group(1), "=") and assignment.end() < len(arg):
            arg = arg[: assignment.end()] + MASK
        out.append(redact_value(arg, secrets))
    return out


def command_line_secrets(argv: Sequence[str], depth: int = 2) -> set[str]:
    """The passwords an argv holds (whole elements: a password may hold spaces), and those of the
    shell scripts inside it (`bash -c "mysql -pX"`), to be masked wherever else they appear."""
    found = {argv[index][start:end] for index, start, _, end in _command_spans(argv, quoted=False)}
    for arg in argv:
        if "=" in arg or ":" in arg:
            assignment = _ASSIGNMENT.match(arg)
            if assignment and secret_key(assignment.group(1)):
                found.add(arg[assignment.end() :])
            if "://" in arg:
                found |= url_secrets(arg)
            found.update(arg[s:e].strip(_QUOTES) for s, e in _assignment_spans(arg, secret_key))
        if depth and _SPACE.search(arg):
            found |= shell_secrets(arg, depth - 1)
    return {s for s in found if s and s != MASK}


def _unquote_piece(match: re.Match[str]) -> str:
    single, double, escaped = match.groups()
    if single is not None:
        return single
    if double is not None:
        return _ESCAPED.sub(r"\1", double)
    return escaped or ""


def _unquote_word(word: str) -> str:
    return _SHELL_PIECE.sub(_unquote_piece, word)


def shell_words(line: str) -> list[str]:
    """`line` split into words the way a POSIX shell quotes them (no expansion), in linear time;
    an unclosed quote is an ordinary character."""
    return [_unquote_word(m.group()) for m in _SHELL_WORD.finditer(line)]


def shell_secrets(line: str, depth: int = 1) -> set[str]:
    """`command_line_secrets` of one shell line (a bash history line, a `bash -c` script)."""
    found = command_line_secrets(shell_words(line), depth)
    for token in _TOKEN.finditer(line):
        if "://" in token.group():
            found |= url_secrets(token.group())
    return found


def env_secrets(env: Mapping[str, str]) -> set[str]:
    """Secrets in an environment: values of secret-named variables, URL passwords in any value."""
    found: set[str] = set()
    for name, value in env.items():
        if not isinstance(value, str) or not value:
            continue
        if secret_key(name):
            found.add(value)
        if "://" in value:
            found |= url_secrets(value)
    return found


def redact_tree(value: Any, secrets: Iterable[str] = ()) -> Any:
    """Every string inside `value` (dataclasses in place, dicts and lists rebuilt) through
    `redact`: the last pass before something leaves the grader."""
    forms = _sorted_forms(secrets)

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            text = redact(item)
            return _mask_known(text, forms) if forms else text
        if isinstance(item, dict):
            return {walk(k): walk(v) for k, v in item.items()}
        if isinstance(item, list | tuple):
            return type(item)(walk(v) for v in item)
        if dataclasses.is_dataclass(item) and not isinstance(item, type):
            for f in dataclasses.fields(item):
                setattr(item, f.name, walk(getattr(item, f.name)))
            return item
        return item

    return walk(value)
