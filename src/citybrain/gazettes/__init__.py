"""Open datasets extracted from government gazettes (政府公报数据集).

The package ships five public government texts under ``texts/`` — 常州市人民政府公报 2021年第1期,
the web copy of 常政办发〔2021〕6号, 溧阳市人民政府公报 2023年第1期, the 常州 十四五 smart-city plan
(常政办发〔2021〕104号) and the digital-government opinion (常政发〔2022〕82号) — and parses their
tables into typed rows. :data:`~citybrain.gazettes.tables.TABLES` lists every dataset;
:func:`~citybrain.gazettes.tables.as_arrow` returns one as a pyarrow table.
"""

from citybrain.gazettes.tables import TABLES, Field, GazetteTable, as_arrow, get_table

__all__ = ["TABLES", "Field", "GazetteTable", "as_arrow", "get_table"]
