"""Every shared vector HTTP can carry, replayed through a real nginx.

One server block per vector file: its policy written to a JSON file and
loaded with cors_policy_file, proxy_pass to the harness Upstream.
"""

import pytest

from nginx_process import harness, start_nginx, stop_nginx

CASES = harness.load_vectors(http_only=True)
FILES = sorted({c.file for c in CASES})


@pytest.fixture(scope="session")
def vector_servers(tmp_path_factory, module, upstream):
    policies = tmp_path_factory.mktemp("policies")
    ports = {f: harness.free_port() for f in FILES}
    servers = []
    for f in FILES:
        policy = next(c.policy_json for c in CASES if c.file == f)
        path = policies / f
        path.write_text(policy)
        servers.append(f"""
    # {f}
    server {{
        listen 127.0.0.1:{ports[f]};
        cors_policy_file {path};

        location / {{
            proxy_pass http://127.0.0.1:{upstream.port};
        }}
    }}
""")
    n = start_nginx(tmp_path_factory, "vectors", "".join(servers),
                    ports.values())
    yield ports
    stop_nginx(n)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.case_id)
def test_vector(case, vector_servers, upstream):
    hits = upstream.hits
    resp = harness.replay(case, "127.0.0.1", vector_servers[case.file])
    assert harness.check_all(case, resp) == []
    # the upstream runs exactly when corsgate does not answer itself
    assert upstream.hits - hits == (0 if case.responds else 1)
