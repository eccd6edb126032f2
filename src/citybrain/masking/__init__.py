"""数据脱敏 (de-identification, GB/T 37964): masking methods over Arrow tables and the default policy.

``methods`` holds the vectorised 遮蔽 / 泛化 / 假名化 / 抑制 / 截断 methods and ``apply_mask``;
``policy`` decides, per field, which method applies given its 数据元 (data element) and 敏感级别.
"""

from citybrain.masking.methods import (
    COMPOUND_SURNAMES,
    METHODS,
    MaskSpec,
    apply_mask,
    consumer_key,
    mask_batches,
    mask_column,
    mask_record,
)
from citybrain.masking.policy import (
    ELEMENT_DEFAULTS,
    FieldInfo,
    SensitivityLevel,
    default_spec,
    effective_plan,
)

__all__ = [
    "COMPOUND_SURNAMES",
    "ELEMENT_DEFAULTS",
    "METHODS",
    "FieldInfo",
    "MaskSpec",
    "SensitivityLevel",
    "apply_mask",
    "consumer_key",
    "default_spec",
    "effective_plan",
    "mask_batches",
    "mask_column",
    "mask_record",
]
