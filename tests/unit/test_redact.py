"""No secret leaves the grader: URL passwords, `password=...` values, known secret values."""

from __future__ import annotations

import pytest

from grader.redact import MASK, redact, redact_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "mysql+pymysql://airflow:Bespin12!@127.0.0.1:3306/airflow",
            "mysql+pymysql://airflow:***@127.0.0.1:3306/airflow",
        ),
        (
            "mysql+pymysql://airflow:Bespin12%21@127.0.0.1/airflow",
            "mysql+pymysql://airflow:***@127.0.0.1/airflow",
        ),
        (
            "db+mysql://airflow:Bespin12!@127.0.0.1:3306/airflow",
            "db+mysql://airflow:***@127.0.0.1:3306/airflow",
        ),
        ("redis://:s3cret@localhost:6379/0", "redis://:***@localhost:6379/0"),
        ("rediss://default:p:a:ss@cache.example:6380/1", "rediss://default:***@cache.example:6380/1"),
        ("postgresql+psycopg2://u:p#x@db/airflow", "postgresql+psycopg2://u:***@db/airflow"),
    ],
)
def test_url_passwords_masked(url, expected):
    assert redact_url(url) == expected
    assert redact(url) == expected


def test_url_password_masked_inside_a_longer_text():
    text = "sql_alchemy_conn = mysql+pymysql://airflow:Bespin12!@127.0.0.1/airflow and more"
    out = redact(text)
    assert "Bespin12" not in out
    assert "mysql+pymysql://airflow:***@127.0.0.1/airflow and more" in out


def test_two_urls_on_one_line_both_masked():
    text = "--broker redis://:pw1@h1:6379/0 --db mysql://u:pw2@h2/db"
    assert redact_url(text) == "--broker redis://:***@h1:6379/0 --db mysql://u:***@h2/db"


@pytest.mark.parametrize(
    "url",
    [
        "redis://localhost:6379/0",
        "http://localhost:8080",
        "mysql+pymysql://airflow@127.0.0.1:3306/airflow",
        "sqlite:////home/ec2-user/airflow/airflow.db",
        "airflow.api.auth.backend.basic_auth,airflow.api.auth.backend.session",
    ],
)
def test_no_false_masking_without_password(url):
    assert redact_url(url) == url
    assert redact(url) == url


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("password=hunter2", "password=***"),
        ("MYSQL_PASSWORD: hunter2 rest", "MYSQL_PASSWORD: *** rest"),
        ("AIRFLOW__CORE__FERNET_KEY=abcDEF123=", "AIRFLOW__CORE__FERNET_KEY=***"),
        ("secret_key = 0123456789abcdef", "secret_key = ***"),
        ("--api-token=xyz", "--api-token=***"),
    ],
)
def test_key_value_secrets_masked(text, expected):
    assert redact(text) == expected


def test_known_secret_values_masked():
    text = "airflow users create -r Admin -u trey -p test123! -e trey@example.com"
    out = redact(text, ["test123!"])
    assert "test123!" not in out
    assert out == f"airflow users create -r Admin -u trey -p {MASK} -e trey@example.com"


def test_longer_secret_masked_before_its_prefix():
    out = redact("pw is Bespin12!xyz and Bespin12!", ["Bespin12!", "Bespin12!xyz"])
    assert out == "pw is *** and ***"


def test_short_or_empty_secrets_are_not_masked_everywhere():
    text = "a ab abc"
    assert redact(text, ["", "a", "ab"]) == text
    assert redact(text, ["abc"]) == "a ab ***"


def test_unencoded_at_sign_in_password_is_fully_masked():
    out = redact_url("mysql+pymysql://airflow:Bespin@12@127.0.0.1/airflow")
    assert "12@127.0.0.1" not in out
