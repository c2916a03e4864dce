"""``History``: what ``Model.train`` returns, one value per epoch."""

FIELDS = ("loss", "data_loss", "regularization_loss", "accuracy",
          "learning_rate", "val_loss", "val_accuracy")


class History:
    """Per-epoch training figures, as attributes or by name.

    ``history.loss`` and ``history["loss"]`` are the same list. Fields:
    ``loss`` (data + regularisation), ``data_loss``, ``regularization_loss``,
    ``accuracy``, ``learning_rate`` (the last one used in the epoch),
    ``val_loss`` and ``val_accuracy`` (empty without validation data), and
    ``epochs`` (1-based epoch numbers within this ``train`` call).
    """

    def __init__(self):
        self.epochs = []
        for name in FIELDS:
            setattr(self, name, [])

    def __getitem__(self, name):
        if name not in FIELDS and name != "epochs":
            raise KeyError(f"History has no {name!r}; fields: {', '.join(FIELDS)}")
        return getattr(self, name)

    def keys(self):
        return ("epochs",) + FIELDS

    def as_dict(self):
        """A plain dict of lists (Keras' ``history.history``)."""
        return {name: list(self[name]) for name in self.keys()}

    def __len__(self):
        return len(self.epochs)

    def __repr__(self):
        if not self.epochs:
            return "History(no epochs)"
        last = f"loss={self.loss[-1]:.4g}, accuracy={self.accuracy[-1]:.4g}"
        return f"History({len(self)} epochs, last: {last})"
