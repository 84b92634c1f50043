"""START_HERE's data-flow table agrees with the registry, stage by stage."""

from channelops.run.flow import EXPORTS_ONLY, stage_flow
from channelops.run.registry import STAGES, stage_by_key


def test_every_stage_listed_in_run_order_with_its_notebook():
    flow = stage_flow()
    assert list(flow.index) == [s.key for s in STAGES]
    assert list(flow["notebook"]) == [s.notebook for s in STAGES]


def test_intake_reads_exports_and_later_stages_name_their_producer():
    flow = stage_flow()
    assert flow.loc["00", "reads (from stage)"] == EXPORTS_ONLY
    # 03 reads the intake's lines, written by 00
    assert "intake_lines (00)" in flow.loc["03", "reads (from stage)"]
    for table in stage_by_key("03").outputs:
        assert table in flow.loc["03", "writes"].split(", ")
