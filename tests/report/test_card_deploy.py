"""The card's deployment section: the best row of a `benchbench deploy --json` file within its quality budget."""

import json


def test_a_card_names_the_best_deployment_row_of_a_deploy_file(cli, tmp_path):
    matrix = tmp_path / "mlp_deploy.json"
    code, _, err = cli(["deploy", "mlp", "--size", "tiny", "--runtimes", "eager,ort", "--precisions", "fp32",
                        "--samples", "4", "--json", str(matrix)])  # fmt: skip
    assert code == 0, err
    assert json.loads(matrix.read_text())["kind"] == "deploy"  # a versioned record the card can read back
    card = tmp_path / "card.md"
    code, _, err = cli(
        ["card", "mlp", "--size", "tiny", "--no-scaling", "--deploy", str(matrix), "--out", str(card)]
    )
    assert code == 0, err
    text = card.read_text()
    section = text.split("## Deployment", 1)[1]
    assert "Quality budget: a drop of at most" in section and "Best within budget: **" in section


def test_a_deploy_file_of_another_model_is_one_line(cli, tmp_path):
    matrix = tmp_path / "m.json"
    matrix.write_text(json.dumps({"schema_version": 2, "kind": "deploy", "model": "bert", "size": "tiny",
                                  "batch_size": 1, "threads": 1, "samples": 4, "rows": []}))  # fmt: skip
    code, _, err = cli(
        ["card", "mlp", "--size", "tiny", "--deploy", str(matrix), "--out", str(tmp_path / "c.md")]
    )
    assert code == 2 and "holds 'bert'" in err
