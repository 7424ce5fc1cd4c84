"""Full-text search: the title and heading path weigh above the body, and a plain-word
question matches on its rare words (within a budget of rows) while every word ranks."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from app.db.models import Collection
from app.search import sql
from app.search.filters import compile_filter
from app.search.service import SearchRequest, SearchTarget, plan_text_query, search
from app.search.terms import Collected, TermStats, plan_terms, quoted
from tests.search.conftest import clustered, document, load

pytestmark = pytest.mark.anyio


async def test_a_word_only_in_the_title_ranks_the_titled_document_first(
    conn, collection: Collection
) -> None:
    vectors = clustered(12, seed=4)
    body = "how the cleaner reclaims space and keeps statistics current"
    docs = [
        document("titled", [body], vectors[:1], title="Routine Vacuuming"),
        # The word in the body of others, even several times, weighs less than a title.
        *(
            document(f"body-{i}", [f"vacuum {body} vacuum"], vectors[1 + i : 2 + i])
            for i in range(10)
        ),
        document("unrelated", ["nothing to do with it"], vectors[11:12]),
    ]
    await load(conn, collection, docs)
    hits = await search(
        conn, SearchTarget.of(collection), SearchRequest("text", k=5, query="vacuuming")
    )
    assert hits[0].external_id == "titled"
    assert hits[0].title == "Routine Vacuuming"
    assert len(hits) == 5


async def test_the_heading_path_weighs_above_the_body(conn, collection: Collection) -> None:
    vectors = clustered(3, seed=5)
    text = "set the threshold and the scale factor of each table"
    docs = [
        document("body", [f"autovacuum: {text}"], vectors[:1]),
        document("headed", [text], vectors[1:2]),
        document("other", ["something else"], vectors[2:3]),
    ]
    headed = docs[1]
    sections = [replace(c, section="Autovacuum > Thresholds") for c in headed.chunks]
    docs[1] = replace(headed, chunks=sections)
    await load(conn, collection, docs)
    hits = await search(
        conn, SearchTarget.of(collection), SearchRequest("text", k=5, query="autovacuum")
    )
    assert [h.external_id for h in hits] == ["headed", "body"]
    assert hits[0].section == "Autovacuum > Thresholds"


async def test_a_common_word_ranks_but_does_not_match(conn, collection: Collection) -> None:
    """400 chunks hold "common", 4 hold "rare" too: with a budget of 50 rows the statistics
    leave "common" out of the match query, so only the 4 are candidates (ranked with both
    words); when fewer than k match, every word matches again and k rows come back."""
    rare = {"d007", "d107", "d207", "d307"}
    vectors = clustered(400, seed=6)
    docs = [
        document(
            f"d{i:03d}",
            [f"common words {'rare' if f'd{i:03d}' in rare else 'plain'} {'common' * (i % 2)}"],
            vectors[i : i + 1],
        )
        for i in range(400)
    ]
    await load(conn, collection, docs)
    target = SearchTarget.of(collection)
    plan = await plan_text_query(conn, target, "common rare", 50)
    assert plan.match == "'rare'"
    assert plan.rank == "'common' | 'rare'"
    hits = await search(
        conn, target, SearchRequest("text", k=3, query="common rare", match_budget=50)
    )
    assert len(hits) == 3 and {h.external_id for h in hits} < rare
    # k = 10 > the 4 rare matches: "common" matches too.
    more = await search(
        conn, target, SearchRequest("text", k=10, query="common rare", match_budget=50)
    )
    assert len(more) == 10
    assert {h.external_id for h in more[:4]} == rare
    # Without a budget that binds, every word matches, and the best 4 are the same.
    everything = await search(conn, target, SearchRequest("text", k=10, query="common rare"))
    assert [h.external_id for h in everything[:4]] == [h.external_id for h in more[:4]]


async def test_a_collection_without_statistics_matches_every_word(
    conn, collection: Collection
) -> None:
    target = SearchTarget.of(collection)  # empty, never analysed
    plan = await plan_text_query(conn, target, "common rare", 1)
    assert plan.match == plan.rank == "'common' | 'rare'"
    stop_words = await plan_text_query(conn, target, "the of and", 1)
    assert stop_words.match == stop_words.rank == ""


def _stats(floor: float | None, rows: float, **frequencies: float | None) -> Collected:
    return Collected([TermStats(k, v) for k, v in frequencies.items()], floor, rows)


def test_the_rarest_words_fill_the_budget() -> None:
    plan = plan_terms(_stats(0.001, 100_000, a=0.2, b=0.01, c=None, d=0.05), budget=1200)
    # c is counted at the floor (100 rows), b 1,000: together 1,100; d (5,000) and a out.
    assert plan.match.split(" | ")[:2] == ["'b'", "'c'"]
    assert plan.rank == "'a' | 'b' | 'c' | 'd'"
    assert plan.pruned


def test_pairs_of_the_words_left_out_use_what_is_left_of_the_budget() -> None:
    # a and d left out; both in one chunk: 0.2 * 0.05 * 100,000 = 1,000 rows <= 2,000 - 1,100.
    plan = plan_terms(_stats(0.001, 100_000, a=0.2, b=0.01, c=None, d=0.05), budget=2100)
    assert plan.match == "'b' | 'c' | ('d' & 'a')"


def test_when_no_word_fits_the_pairs_match_first_and_the_rarest_word_then() -> None:
    plan = plan_terms(_stats(0.001, 1_000_000, a=0.3, b=0.2, c=0.1), budget=10)
    # No word alone, no pair within 10 rows: the pair expected fewest (b & c, 20,000) still
    # matches first, then the rarest word's own rows, as far as the cap on rows ranked goes.
    assert plan.tiers == ("('c' & 'b')", "'c'")
    assert plan.rank == "'a' | 'b' | 'c'"
    # Within 50,000 rows: b & c (20,000) and a & c (30,000), not a & b (60,000).
    enough = plan_terms(_stats(0.001, 1_000_000, a=0.3, b=0.2, c=0.1), budget=50_000)
    assert enough.tiers == ("('c' & 'a') | ('c' & 'b')", "'c'")


def test_rare_words_come_before_pairs_of_common_ones() -> None:
    plan = plan_terms(_stats(0.001, 100_000, a=0.2, b=0.01, c=None, d=0.05), budget=2100)
    assert plan.tiers == ("'b' | 'c'", "('d' & 'a')")
    assert plan.parameters() == {
        "tier0": "'b' | 'c'",
        "tier1": "('d' & 'a')",
        "before1": "('b' | 'c')",
        "trank": "'a' | 'b' | 'c' | 'd'",
        "tlex": ["'a'", "'b'", "'c'", "'d'"],
        "tidf": [math.sqrt(math.log(1 / share)) for share in (0.2, 0.01, 0.001, 0.05)],
    }
    widened = plan.widened()
    assert widened.tiers[-1] == plan.rank
    assert widened.parameters()["before2"] == "('b' | 'c') | (('d' & 'a'))"


def test_a_lone_common_word_matches_within_the_cap() -> None:
    assert plan_terms(_stats(0.001, 1_000_000, a=0.3), budget=10).tiers == ("'a'",)


def test_a_small_collection_or_no_statistics_match_every_word() -> None:
    assert not plan_terms(_stats(0.001, 500, a=0.9, b=0.8), budget=2000).pruned
    assert not plan_terms(_stats(None, 10**6, a=0.9, b=0.8), budget=10).pruned


def test_lexemes_are_quoted_as_tsquery_operands() -> None:
    assert quoted("it's") == "'it''s'"
    assert quoted("a\\b") == "'a\\\\b'"


async def test_rows_ranked_are_capped_the_match_first_then_the_rarest_word(
    conn, collection: Collection
) -> None:
    """`%(tcap)s` bounds the rows ranked whatever the estimates: the match query's rows
    come first, then rows of `then` it did not find, until the cap."""
    pair = {"d03", "d13", "d23"}
    vectors = clustered(30, seed=8)
    docs = [
        document(f"d{i:02d}", [f"apple {'banana' if f'd{i:02d}' in pair else 'plain'}"], v)
        for i, v in enumerate(vectors[:, None])
    ]
    await load(conn, collection, docs)
    scope = sql.Scope(collection.id, 384, compile_filter(None))
    ranked = sql.text_ranked(scope, any_word=True, tiers=2)
    params = {
        "tier0": "'banana'",
        "tier1": "'appl'",
        "before1": "'banana'",
        "trank": "'appl' | 'banana'",
        "tlex": ["'appl'", "'banana'"],
        "tidf": [1.0, 1.0],
        "k": 100,
        "depth": 100,
    }
    found = []
    for cap in (2, 5, 100):
        cursor = await conn.execute(
            sql.hits_sql(scope, ranked, include_text=False), {**params, "tcap": cap}
        )
        found.append([row[2] for row in await cursor.fetchall()])
    assert len(found[0]) == 2 and set(found[0]) < pair
    assert len(found[1]) == 5 and set(found[1][:3]) == pair
    assert len(found[2]) == 30 and set(found[2][:3]) == pair  # no row twice


def test_each_word_weighs_the_square_root_of_its_inverse_document_frequency() -> None:
    """A word in a fifth of the chunks weighs sqrt(ln 5), one the statistics do not list
    weighs as their floor; without statistics every word weighs 1 (plain `ts_rank`)."""
    plan = plan_terms(_stats(0.001, 100_000, a=0.2, c=None, e=1.0))
    weights = dict(plan.weights)
    assert weights["a"] == pytest.approx(math.sqrt(math.log(5)))
    assert weights["c"] == pytest.approx(math.sqrt(math.log(1000)))
    assert weights["e"] == 0.0  # in every chunk: it tells nothing
    assert plan.parameters()["tlex"] == ["'a'", "'c'", "'e'"]
    assert dict(plan_terms(_stats(None, 100_000, a=0.2, c=None)).weights) == {"a": 1.0, "c": 1.0}


async def test_a_rare_word_once_outranks_a_common_word_repeated(
    conn, collection: Collection
) -> None:
    """ "scarce" is in 5 of 200 chunks, "common" in 100. Plain `ts_rank` weighs both words
    alike, so the chunk saying "common" four times came before the one saying "scarce"
    once; weighed by rarity the rare word's chunk comes first."""
    vectors = clustered(200, seed=8)
    texts = [
        "common common common common filler"
        if i == 0
        else "scarce filler words"
        if i < 5
        else "common filler"
        if i < 100
        else "other filler"
        for i in range(200)
    ]
    docs = [document(f"d{i:03d}", [t], vectors[i : i + 1]) for i, t in enumerate(texts)]
    await load(conn, collection, docs)
    target = SearchTarget.of(collection)
    hits = await search(conn, target, SearchRequest("text", k=5, query="common scarce"))
    assert [h.external_id for h in hits[:4]] == ["d001", "d002", "d003", "d004"]
    plain = await conn.execute(
        "SELECT d.external_id FROM chunks c JOIN documents d ON d.id = c.document_id"
        " WHERE c.collection_id = %s AND c.tsv @@ to_tsquery('english', 'common | scarce')"
        f" ORDER BY ts_rank('{sql.RANK_WEIGHTS}'::float4[], c.tsv,"
        " to_tsquery('english', 'common | scarce')) DESC, c.id LIMIT 1",
        (collection.id,),
    )
    assert await plain.fetchone() == ("d000",)
