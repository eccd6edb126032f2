"""共享交换 (data sharing exchange): request → approval → grant → scoped, masked, audited access."""
