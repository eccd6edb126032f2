"""一网统管 (city operations) cases: from a report to 结案 and 考核.

- ``intake``: reports from 12345 / 巡查 / 随手拍 / IoT, geocoding, classification, merging duplicates;
- ``service``: the workflow actions (受理 … 结案, 回退, 延期, 挂账, 重新分类), grids, 部件, notices;
- ``workflow``: the one transition path (version check, state machine, clocks, timeline, audit);
- ``routing``: 部件先属主后属地, 事项先属地后属主; ``supervision``: 督办; ``kpi``: 考核 with 同比/环比;
- ``open311``: the GeoReport v2 actions; ``demo``: demo cases;
- reference modules: ``enums`` (states and transitions), ``codes`` (GB/T 47678.5), ``classify`` + ``corpus``,
  ``timelimits`` + ``worktime`` (working calendar), ``space`` + ``gridgen`` + ``gazetteer``;
- ``config``: ``CITYBRAIN_CASES_*`` settings (merge distance and window, thresholds, webhook URL).
"""
