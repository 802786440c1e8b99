"""What views and static fallbacks show about a learner: plain-data summaries and static HTML."""

from __future__ import annotations

from k1widgets.report.fallback import (
    barsSvg,
    callbacksHtml,
    dataHtml,
    epochLossHtml,
    fmtSeconds,
    learnerHtml,
    loaderHtml,
    lossHtml,
    timingsHtml,
)
from k1widgets.report.summary import (
    EDITABLE_HYPERS,
    batchInfo,
    dataSummary,
    functionName,
    jsonValue,
    loaderSummary,
    modelSummary,
    nthBatch,
    optimizerSummary,
    sampleTable,
    takeSample,
)

__all__ = [
    "EDITABLE_HYPERS",
    "barsSvg",
    "batchInfo",
    "callbacksHtml",
    "dataHtml",
    "dataSummary",
    "epochLossHtml",
    "fmtSeconds",
    "functionName",
    "jsonValue",
    "learnerHtml",
    "loaderHtml",
    "loaderSummary",
    "lossHtml",
    "modelSummary",
    "nthBatch",
    "optimizerSummary",
    "sampleTable",
    "takeSample",
    "timingsHtml",
]
