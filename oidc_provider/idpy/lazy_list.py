"""Lists that read the rest of their items from the database the first time anything looks."""

# The list methods that read or rearrange the whole list: each loads the rest first.
WHOLE_LIST_METHODS = (
    "__iter__",
    "__len__",
    "__contains__",
    "__getitem__",
    "__eq__",
    "__ne__",
    "__repr__",
    "__reversed__",
    "__add__",
    "__iadd__",
    "__mul__",
    "__delitem__",
    "__setitem__",
    "append",
    "extend",
    "insert",
    "remove",
    "pop",
    "index",
    "count",
    "copy",
    "sort",
    "reverse",
    "clear",
)


def _loading_first(load, name):
    method = getattr(list, name)

    def wrapper(self, *args, **kwargs):
        getattr(self, load)()
        return method(self, *args, **kwargs)

    wrapper.__name__ = name
    return wrapper


def loads_before_use(load, except_for=()):
    """Class decorator for a ``list`` subclass: its method named ``load`` runs before every method of
    WHOLE_LIST_METHODS but ``except_for`` (those the class keeps as they are)."""

    def decorate(cls):
        for name in WHOLE_LIST_METHODS:
            if name not in except_for:
                setattr(cls, name, _loading_first(load, name))
        return cls

    return decorate
