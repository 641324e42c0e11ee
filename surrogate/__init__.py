"""surrogate: turn a physical formula into a verified, fast, shippable neural surrogate."""
from .errors import SurrogateError
from .relation import Relation
