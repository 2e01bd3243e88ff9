"""Home-country news with the real watchlist (issue 16): an Iranian outlet's own economy,
state-set prices and office holders are about Iran unnamed; bare «روحانی» is Rouhani only
beside his office or Iran. Texts written for these tests."""

from __future__ import annotations

from tests.test_topics_real import seeds_watchlist, tagged

RATES_TITLE = "نرخ ارز و سکه امروز"
RATES = (
    "قیمت دلار در بازار آزاد امروز به ۴۲ هزار تومان رسید و قیمت سکه امامی هم بالا رفت. "
    "بانک مرکزی گفت برای آرام کردن بازار ارز برنامه دارد."
)
FUEL_TITLE = "سهمیه بنزین ماه آینده به کارت سوخت واریز می‌شود"
FUEL = "سخنگوی دولت گفت سهمیه بنزین هر خودرو مانند ماه گذشته است و قیمت بنزین تغییر نمی‌کند."


def test_an_iranian_outlets_currency_and_fuel_news_is_about_iran_unnamed() -> None:
    for title, text in ((RATES_TITLE, RATES), (FUEL_TITLE, FUEL)):
        assert tagged(title, text, "IR") == {"iran": "about"}
        # the same words from an outlet elsewhere, or of unknown country, name no country
        assert tagged(title, text).get("iran", "mention") == "mention"
        assert tagged(title, text, "DE").get("iran", "mention") == "mention"


def test_the_coin_price_is_no_markets_frame_on_an_iranian_outlet() -> None:
    home = seeds_watchlist().explain(RATES_TITLE, RATES, None, "IR")["iran"]
    assert home["home"] == 1.0 and home["in_frame"] == 0.0
    # named by a foreign outlet in a gold-market report, the coin price is a frame
    gold = "قیمت سکه و قیمت طلا در ایران بالا رفت و سرمایه‌گذاران به بازار طلا آمدند."
    foreign = seeds_watchlist().explain("", gold, None, "DE")["iran"]
    assert foreign["frame"] > 0 and foreign["home"] == 0.0


def test_office_holders_since_2013_count_for_an_iranian_outlet() -> None:
    title = "زنگنه: صادرات نفت کاهش نیافته است"
    text = "بیژن زنگنه امروز در جمع خبرنگاران گفت صادرات نفت کاهش نیافته است."
    assert tagged(title, text, "IR") == {"iran": "about"}
    evidence = seeds_watchlist().tag(title, text, None, "IR")[0].evidence
    assert {e.matched for e in evidence} >= {"زنگنه", "بیژن زنگنه"}


def test_bare_rouhani_is_the_president_only_beside_his_office_or_iran() -> None:
    summit = "روحانی در دیدار با مکرون گفت تحریم‌ها باید برداشته شود."
    assert tagged("", summit).get("iran") is not None
    assert "iran" in tagged("روحانی در سازمان ملل", "رئیس جمهور روحانی امروز سخنرانی کرد.")
    cleric = "یک روحانی جوان در مسجد محله برای نمازگزاران سخنرانی کرد."
    assert "iran" not in tagged("", cleric)
