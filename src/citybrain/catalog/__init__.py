"""The public data catalog (公共数据目录): data element standards and data resources, 一数一源一标准."""
