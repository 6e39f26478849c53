"""The conformance files themselves: every case cited and unique, every row
of differences.json well formed, README's table generated from it."""

import json

import conformance as cf

REQUIRED_GROUP = ("test", "line", "upstream_config", "policy", "cases")


def test_every_case_cites_its_source():
    for suite, doc in cf._suite_docs():
        src = doc["source"]
        assert src["repo"] and src["commit"] and src["files"], suite
        for g in doc.get("groups", []):
            for field in REQUIRED_GROUP:
                assert field in g, (suite, g.get("group"), field)
            assert isinstance(g["line"], int) and g["line"] > 0
            if suite == "wpt":
                assert len(g["commit"]) == 40 and g["test"] in src["files"]
            else:
                assert g.get("file", doc["file"]) in src["files"], g["group"]
            for c in g["cases"]:
                assert "request" in c and "expect" in c
                assert ("browser" in c["expect"]) != ("headers" in c["expect"])
        for c in doc.get("configs", []):
            for field in ("test", "name", "file", "line", "upstream_config",
                          "policy", "accepted"):
                assert field in c, (suite, c.get("name"), field)
            assert c["file"] in src["files"], c["file"]


def test_case_ids_are_unique():
    keys = [(c.suite, c.id) for c in cf.load_cases() + cf.load_configs()]
    assert len(keys) == len(set(keys))
    assert len(keys) >= 370


def test_rows_are_well_formed():
    for row in cf.rows():
        assert set(row) <= {"suite", "case", "difference", "reason", "surfaces",
                            "facets"}, row
        assert row["suite"] in cf.SUITES + ("gateway-api",), row
        if row["suite"] in cf.SUITES:
            assert row["facets"] and len(set(row["facets"])) == len(row["facets"]), row
        assert row["difference"].strip() and row["reason"].strip(), row
        assert set(row.get("surfaces", cf.SURFACES)) <= set(cf.SURFACES), row


def test_readme_table_is_generated_from_differences_json():
    text = (cf.HERE / "README.md").read_text(encoding="utf-8")
    assert cf.readme_with_table(text) == text, (
        "README.md's table is stale: run "
        "python3 tests/conformance/conformance.py readme")


def test_judge_fails_on_unlisted_and_on_stale_rows():
    listed = ("rs-cors", "TestSpec/NoConfig")  # facets: ACAO, vary
    differs = ["access-control-allow-origin: x", "vary: y"]
    unlisted = ("rs-cors", "TestSpec/AllowedOrigin")
    # a listed case that differs and an unlisted one that agrees: fine
    base = {listed: differs, unlisted: []}
    assert not [f for f in cf.judge(base, "c") if "TestSpec/" in f
                and ("NoConfig" in f or "AllowedOrigin:" in f)]
    # the listed case now agrees: the row is stale
    stale = cf.judge({listed: [], unlisted: []}, "c")
    assert any("NoConfig" in f and "now agrees" in f for f in stale)
    # the unlisted case differs: unlisted difference
    new = cf.judge({listed: differs, unlisted: ["status: y"]}, "c")
    assert any("AllowedOrigin" in f and "unlisted difference" in f for f in new)
    # the listed case differs, but not as the row says
    other = cf.judge({listed: ["status: z"], unlisted: []}, "c")
    assert any("NoConfig" in f and "differs in" in f for f in other)


def test_glob():
    assert cf.glob("TestMiddleware/passthrough/*", "TestMiddleware/passthrough/non-CORS GET")
    assert not cf.glob("TestMiddleware/passthrough/*", "TestMiddleware/credentialed/x")
    assert cf.glob("a (allowed: \\*)", "a (allowed: *)")
    assert not cf.glob("a (allowed: \\*)", "a (allowed: get)")
    assert cf.glob("status 4*", "status 404/preflight")
