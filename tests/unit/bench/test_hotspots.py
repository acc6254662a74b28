"""The profile summary: py-spy's collapsed stacks sorted into functions, groups and agents."""

from __future__ import annotations

from bench.hotspots import KAFKA, LOOP, NO_AGENT, PARSE, TABLES, summary

LOOP_ROOT = (
    "<module> (streams/__main__.py:5);main (streams/cli/main.py:282);"
    "BaseEventLoop.run_forever (asyncio/base_events.py:608);"
    "BaseEventLoop._run_once (asyncio/base_events.py:1922)"
)
NORMALIZE = (
    f"{LOOP_ROOT};Handle._run (asyncio/events.py:84);"
    "register.<locals>.normalize (streams/process/normalize.py:360);"
    "NormalizeRecords.one (streams/process/normalize.py:280)"
)
RAW = "\n".join(
    [
        f"{NORMALIZE};read_envelope (streams/process/normalize.py:95);"
        "BaseModel.model_validate_json (pydantic/main.py:744) 6",
        f"{NORMALIZE};Normalizer.keep (streams/process/normalize.py:140);"
        "Table.__setitem__ (faust/tables/table.py:80);"
        "AIOKafkaProducer.send (aiokafka/producer/producer.py:480) 2",
        f"{LOOP_ROOT};Handle._run (asyncio/events.py:84);"
        "SendProduceReqHandler.do (aiokafka/producer/sender.py:380);"
        "AIOKafkaConnection.send (aiokafka/conn.py:450);"
        "_SelectorSocketTransport.write (asyncio/selector_events.py:1070) 8",
        f"{LOOP_ROOT};EpollSelector.select (selectors.py:468) 4",
    ]
)


def shares(rows: list[dict[str, object]], key: str) -> dict[object, object]:
    return {row[key]: row["percent"] for row in rows}


def test_a_socket_write_counts_for_whoever_wrote_and_select_for_the_loop() -> None:
    groups = shares(summary(RAW)["groups"], "group")

    assert groups == {KAFKA: 40.0, PARSE: 30.0, LOOP: 20.0, TABLES: 10.0}


def test_a_table_write_is_a_table_write_whatever_it_calls() -> None:
    assert shares(summary(RAW)["groups"], "group")[TABLES] == 10.0


def test_samples_are_counted_for_the_agent_on_their_stack() -> None:
    agents = shares(summary(RAW)["agents"], "agent")

    assert agents == {"normalize agent": 40.0, NO_AGENT: 60.0}


def test_own_time_is_the_innermost_frame_and_cumulative_skips_the_runners() -> None:
    found = summary(RAW, top=3)

    assert shares(found["top_own"], "function") == {
        "_SelectorSocketTransport.write (asyncio/selector_events.py)": 40.0,
        "BaseModel.model_validate_json (pydantic/main.py)": 30.0,
        "EpollSelector.select (selectors.py)": 20.0,
    }
    cumulative = shares(found["top_cumulative"], "function")
    assert cumulative["register.<locals>.normalize (streams/process/normalize.py)"] == 40.0
    assert not any(name.startswith("BaseEventLoop") for name in map(str, cumulative))


def test_a_parse_is_named_by_who_asked_for_it() -> None:
    sites = shares(summary(RAW)["parse_sites"], "site")

    assert sites == {
        "read_envelope (streams/process/normalize.py) → BaseModel.model_validate_json": 30.0
    }
