"""Optimizers and learning-rate schedules."""

from . import lr_scheduler
from .adaptive import Adagrad, Adam, AdamW, RMSprop
from .line_search import LineSearch
from .optimizer import Optimizer
from .sgd import SGD
