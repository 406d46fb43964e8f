"""Quant names as users type them and as publishers put them in file names."""

from __future__ import annotations

import pytest

from gpufit.core.catalog import load_catalog
from gpufit.core.exl2 import resolve_quant, resolve_quant_file
from gpufit.core.resolve import ResolveError
from gpufit.importers.names import quant_label_from_filename


@pytest.fixture(scope="module")
def quants():
    return dict(load_catalog().quants)


@pytest.mark.parametrize("typed", ["q4_k_m", "Q4-K-M", "Q4_K_M", "q4km", "Q4 K M", "q4-k-m"])
def test_quant_names_ignore_case_and_separators(quants, typed):
    assert resolve_quant(quants, typed).id == "Q4_K_M"


@pytest.mark.parametrize(("typed", "quant_id"), [
    ("iq4_xs", "IQ4_XS"), ("IQ4XS", "IQ4_XS"), ("f16", "FP16"), ("bf16", "BF16"),
    ("mxfp4_moe", "MXFP4_MOE"), ("MXFP4-MOE", "MXFP4_MOE"), ("ud-q4_k_xl", "UD-Q4_K_XL"),
    ("Q4_K_XL", "UD-Q4_K_XL"), ("q6_k_l", "Q6_K_L"), ("q3_k_xl", "Q3_K_XL"),
    ("Q4_0_4_4", "Q4_0"), ("q4_0_8_8", "Q4_0"), ("tq1_0", "TQ1_0"), ("q2-k-s", "Q2_K_S"),
    ("iq3_xs", "IQ3_XS"), ("iq2_s", "IQ2_S"), ("q5_1", "Q5_1"), ("q4_1", "Q4_1"),
])
def test_every_llama_cpp_name_resolves(quants, typed, quant_id):
    assert resolve_quant(quants, typed).id == quant_id


def test_similar_names_stay_apart(quants):
    # Q4_K_S vs Q4_K_M, Q4_0 vs Q4_1, Q2_K vs Q2_K_S, IQ3_S vs IQ3_XS vs IQ3_XXS.
    pairs = [("q4ks", "Q4_K_S"), ("q40", "Q4_0"), ("q41", "Q4_1"), ("q2k", "Q2_K"),
             ("iq3s", "IQ3_S"), ("iq3xxs", "IQ3_XXS")]
    assert [resolve_quant(quants, typed).id for typed, _ in pairs] == [want for _, want in pairs]


def test_an_unknown_quant_name_is_an_error(quants):
    with pytest.raises(ResolveError):
        resolve_quant(quants, "Q9_Z_Q")


@pytest.mark.parametrize(("file_name", "label"), [
    ("Model-Q4_K_M.gguf", "Q4_K_M"),
    ("model.Q4_K_M.gguf", "Q4_K_M"),
    ("model-UD-Q4_K_XL.gguf", "UD-Q4_K_XL"),
    ("model-q4_k_m-00001-of-00003.gguf", "Q4_K_M"),
    ("ggml-model-Q8_0.gguf", "Q8_0"),
    ("Starling-LM-7B-beta-IQ4_XS.gguf", "IQ4_XS"),
    ("gemma-3-1b-it-qat-bf16.gguf", "BF16"),
    ("all-MiniLM-L6-v2-f16.gguf", "F16"),
    ("gpt-oss-20b-MXFP4_MOE.gguf", "MXFP4_MOE"),
    ("qwen2.5-0.5b-instruct-q4_k_m.gguf", "Q4_K_M"),
    ("Llama-3.2-1B-Instruct-Q4_0_4_4.gguf", "Q4_0_4_4"),
    ("mistral-7b-instruct-v0.1.Q4_K_S.gguf", "Q4_K_S"),
    ("Q5_K_M/model.gguf", "Q5_K_M"),
    ("/models/x/DeepSeek-R1-UD-IQ1_S-00001-of-00003.gguf", "UD-IQ1_S"),
])
def test_file_names_state_their_quant(file_name, label):
    assert quant_label_from_filename(file_name) == label


def test_a_name_without_a_quant_states_none():
    assert quant_label_from_filename("qwen2.5-0.5b-instruct.gguf") is None
    assert quant_label_from_filename("Qwen3-8B.gguf") is None


@pytest.mark.parametrize(("file_name", "quant_id"), [
    ("Qwen2.5-0.5B-Instruct-Q4_K_M.gguf", "Q4_K_M"),
    ("model-UD-Q4_K_XL.gguf", "UD-Q4_K_XL"),
    ("gemma-3-1b-it-qat-Q6_K_L.gguf", "Q6_K_L"),
    ("gpt-oss-120b-mxfp4-00001-of-00003.gguf", "MXFP4_MOE"),  # ggml-org's file: llama.cpp MXFP4_MOE
    ("gpt-oss-20b-F16.gguf", "FP16"),
    ("ggml-model-IQ2_M.gguf", "IQ2_M"),
])
def test_a_file_name_resolves_to_a_catalog_quant(quants, file_name, quant_id):
    quant = resolve_quant_file(quants, file_name)
    assert quant is not None and quant.id == quant_id


def test_a_file_name_with_no_known_quant_resolves_to_none(quants):
    assert resolve_quant_file(quants, "notes.txt") is None
