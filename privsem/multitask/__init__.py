"""The second scheme (paper 002): multi-task semantic communication — Bob classifies and
reconstructs — with iterative min-max training against an adaptive eavesdropper and a
cooperative adversarial perturbation superimposed on the waveform."""

from .data import DATASETS, load_dataset
from .evaluate import DEFENCES, MultitaskEvalConfig, evaluate
from .models import LegitLink, LinkSpec, load_model
from .perturb import PerturbationConfig, cancel, craft_codebook, perturbation, perturbation_waveform
from .train import TrainConfig, train_and_save, train_eve, train_link

__all__ = ["DATASETS", "DEFENCES", "LegitLink", "LinkSpec", "MultitaskEvalConfig", "PerturbationConfig",
           "TrainConfig", "cancel", "craft_codebook", "evaluate", "load_dataset", "load_model", "perturbation", "perturbation_waveform",
           "train_and_save", "train_eve", "train_link"]
