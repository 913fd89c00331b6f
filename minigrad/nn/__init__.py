"""Layers, convolution and pooling, activations, losses and initialization: what models are
built from."""

from . import functional, init, utils
from .activation import LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Softplus, Tanh
from .conv import AvgPool2d, Conv1d, Conv2d, MaxPool2d
from .layers import Dropout, Flatten, Identity, Linear, ModuleList, Sequential
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss
from .module import Module, Parameter
from .porting import load_pytorch_state_dict, pytorch_state_dict
