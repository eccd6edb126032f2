"""公共数据开放平台: open datasets published from catalog resources, the CKAN-compatible API and DCAT-AP."""
