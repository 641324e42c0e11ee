"""surrogate: turn a physical formula into a verified, fast, shippable neural surrogate."""
from .errors import SurrogateError
from .relation import Relation
from .train import train, TrainConfig
from .model import Surrogate
