"""The ``Model`` class of chapters 18-22 of "Neural Networks from Scratch".

A model is a plain list of layers linked by ``prev`` / ``next`` attributes.
``forward`` walks the list front to back, ``backward`` back to front, each
layer reading ``prev.output`` or ``next.dinputs``.
"""

import numpy as np

from .activations import Activation_Softmax
from .layers import Layer_Input
from .losses import (Activation_Softmax_Loss_CategoricalCrossentropy,
                     Loss_CategoricalCrossentropy)


def _batches(X, y, batch_size):
    """Yield ``(batch_X, batch_y)``; the whole set when batch_size is None.

    The number of steps is ``ceil(len(X) / batch_size)``: the last, possibly
    smaller, batch is used too.  ``y`` may be None (prediction).
    """
    if batch_size is None:
        yield X, y
        return
    steps = len(X) // batch_size
    if steps * batch_size < len(X):
        steps += 1
    for step in range(steps):
        start, stop = step * batch_size, (step + 1) * batch_size
        yield X[start:stop], (None if y is None else y[start:stop])


class Model:
    """Sequential model with the book's train / evaluate / predict loop.

    Attributes
    ----------
    layers : list
        Layers in order, added with ``add``.
    trainable_layers : list
        Layers with a ``weights`` attribute (set by ``finalize``).
    loss, optimizer, accuracy
        Set with ``set``.
    softmax_classifier_output : Activation_Softmax_Loss_CategoricalCrossentropy or None
        The fused softmax + cross-entropy backward, used when the last layer
        is ``Activation_Softmax`` and the loss is categorical cross-entropy.
    """

    def __init__(self):
        self.layers = []
        self.loss = None
        self.optimizer = None
        self.accuracy = None
        self.softmax_classifier_output = None

    def add(self, layer):
        """Append a layer (dense, dropout or activation)."""
        self.layers.append(layer)

    def set(self, *, loss=None, optimizer=None, accuracy=None):
        """Set the loss, optimizer and accuracy objects (None keeps the old)."""
        if loss is not None:
            self.loss = loss
        if optimizer is not None:
            self.optimizer = optimizer
        if accuracy is not None:
            self.accuracy = accuracy

    def finalize(self):
        """Link the layers and prepare the training helpers.

        Each layer gets ``prev`` (the input layer for the first one) and
        ``next`` (the loss for the last one).
        """
        self.input_layer = Layer_Input()
        layer_count = len(self.layers)
        self.trainable_layers = []
        for i, layer in enumerate(self.layers):
            layer.prev = self.input_layer if i == 0 else self.layers[i - 1]
            if i < layer_count - 1:
                layer.next = self.layers[i + 1]
            else:
                layer.next = self.loss
                self.output_layer_activation = layer
            # Anything with weights is trained (and regularized).
            if hasattr(layer, 'weights'):
                self.trainable_layers.append(layer)

        if self.loss is not None:
            self.loss.remember_trainable_layers(self.trainable_layers)

        # Softmax + cross-entropy has a cheap combined gradient.
        if isinstance(self.layers[-1], Activation_Softmax) and \
                isinstance(self.loss, Loss_CategoricalCrossentropy):
            self.softmax_classifier_output = \
                Activation_Softmax_Loss_CategoricalCrossentropy()
        else:
            self.softmax_classifier_output = None

    def train(self, X, y, *, epochs=1, batch_size=None, print_every=1,
              validation_data=None, verbose=True):
        """Train with mini-batches; one optimizer step per batch.

        Prints as the book's ``Model`` does. With ``batch_size`` (chapters
        19-22): every epoch ``epoch: N``, a ``step:`` line for step 0, every
        ``print_every``-th step and the last step (that batch's figures, its
        regularisation loss from the parameters before its update), a
        ``training,`` summary of the epoch and, with ``validation_data``, a
        ``validation,`` line. Without it (chapter 18): an ``epoch:`` line
        (the epoch's one step) every ``print_every`` epochs and one
        ``validation,`` line after the last epoch.

        Parameters
        ----------
        X : ndarray, shape (n, n_features)
        y : ndarray, shape (n,) or (n, n_outputs)
        epochs : int
        batch_size : int or None
            None trains on the whole set at once (one step per epoch).
        print_every : int
            Steps between ``step:`` lines (with batches), or epochs between
            ``epoch:`` lines (without).
        validation_data : tuple (X_val, y_val) or None
            Evaluated after every epoch (for the history).
        verbose : bool

        Returns
        -------
        dict of lists, one entry per epoch
            ``'loss'``, ``'data_loss'``, ``'regularization_loss'``,
            ``'accuracy'``, ``'learning_rate'``, ``'val_loss'``,
            ``'val_accuracy'`` (the last two empty without validation data).
        """
        self.accuracy.init(y)
        history = {'loss': [], 'data_loss': [], 'regularization_loss': [],
                   'accuracy': [], 'learning_rate': [],
                   'val_loss': [], 'val_accuracy': []}
        steps_form = verbose and batch_size is not None

        for epoch in range(1, epochs + 1):
            if steps_form:
                print(f'epoch: {epoch}')
            self.loss.new_pass()
            self.accuracy.new_pass()

            batches = list(_batches(X, y, batch_size))
            for step, (batch_X, batch_y) in enumerate(batches):
                output = self.forward(batch_X, training=True)
                data_loss, regularization_loss = self.loss.calculate(
                    output, batch_y, include_regularization=True)
                loss = data_loss + regularization_loss
                predictions = self.output_layer_activation.predictions(output)
                accuracy = self.accuracy.calculate(predictions, batch_y)

                self.backward(output, batch_y)

                self.optimizer.pre_update_params()
                for layer in self.trainable_layers:
                    self.optimizer.update_params(layer)
                self.optimizer.post_update_params()

                figures = (f'acc: {accuracy:.3f}, loss: {loss:.3f} ('
                           f'data_loss: {data_loss:.3f}, '
                           f'reg_loss: {regularization_loss:.3f}), '
                           f'lr: {self.optimizer.current_learning_rate}')
                if steps_form and (not step % print_every
                                   or step == len(batches) - 1):
                    print(f'step: {step}, ' + figures)
                elif verbose and not steps_form and not epoch % print_every:
                    print(f'epoch: {epoch}, ' + figures)

            epoch_data_loss, epoch_regularization_loss = \
                self.loss.calculate_accumulated(include_regularization=True)
            epoch_loss = epoch_data_loss + epoch_regularization_loss
            epoch_accuracy = self.accuracy.calculate_accumulated()
            lr = self.optimizer.current_learning_rate

            history['loss'].append(float(epoch_loss))
            history['data_loss'].append(float(epoch_data_loss))
            history['regularization_loss'].append(
                float(epoch_regularization_loss))
            history['accuracy'].append(float(epoch_accuracy))
            history['learning_rate'].append(float(lr))

            if steps_form:
                print(f'training, acc: {epoch_accuracy:.3f}, '
                      f'loss: {epoch_loss:.3f} ('
                      f'data_loss: {epoch_data_loss:.3f}, '
                      f'reg_loss: {epoch_regularization_loss:.3f}), '
                      f'lr: {lr}')

            if validation_data is not None:
                last = epoch == epochs
                val_loss, val_accuracy = self.evaluate(
                    *validation_data, batch_size=batch_size,
                    verbose=steps_form or (verbose and last))
                history['val_loss'].append(float(val_loss))
                history['val_accuracy'].append(float(val_accuracy))

        return history

    def evaluate(self, X_val, y_val, *, batch_size=None, verbose=True):
        """Loss and accuracy on a data set, in inference mode.

        Parameters
        ----------
        X_val : ndarray, shape (n, n_features)
        y_val : ndarray, shape (n,) or (n, n_outputs)
        batch_size : int or None
        verbose : bool

        Returns
        -------
        (loss, accuracy)
            Data loss (no regularization, as in the book) and accuracy,
            averaged over all samples.
        """
        self.loss.new_pass()
        self.accuracy.new_pass()
        for batch_X, batch_y in _batches(X_val, y_val, batch_size):
            # training=False: dropout is the identity.
            output = self.forward(batch_X, training=False)
            self.loss.calculate(output, batch_y)
            predictions = self.output_layer_activation.predictions(output)
            self.accuracy.calculate(predictions, batch_y)

        validation_loss = self.loss.calculate_accumulated()
        validation_accuracy = self.accuracy.calculate_accumulated()
        if verbose:
            print(f'validation, acc: {validation_accuracy:.3f}, '
                  f'loss: {validation_loss:.3f}')
        return validation_loss, validation_accuracy

    def predict(self, X, *, batch_size=None):
        """Model outputs (not predictions) for ``X``, shape (n, n_outputs)."""
        output = [self.forward(batch_X, training=False)
                  for batch_X, _ in _batches(X, None, batch_size)]
        return np.vstack(output)

    def forward(self, X, training):
        """Run every layer on ``X``; return the last layer's output."""
        self.input_layer.forward(X, training)
        for layer in self.layers:
            layer.forward(layer.prev.output, training)
        return layer.output

    def backward(self, output, y):
        """Backpropagate from the loss through every layer.

        With the fused softmax + cross-entropy, its gradient (with respect
        to the softmax *inputs*) is stored as the softmax layer's
        ``dinputs`` and the softmax's own Jacobian backward is skipped.
        """
        if self.softmax_classifier_output is not None:
            self.softmax_classifier_output.backward(output, y)
            self.layers[-1].dinputs = self.softmax_classifier_output.dinputs
            for layer in reversed(self.layers[:-1]):
                layer.backward(layer.next.dinputs)
            return

        self.loss.backward(output, y)
        for layer in reversed(self.layers):
            layer.backward(layer.next.dinputs)

    def get_parameters(self):
        """List of ``(weights, biases)`` per trainable layer."""
        return [layer.get_parameters() for layer in self.trainable_layers]

    def set_parameters(self, parameters):
        """Set parameters from a list of ``(weights, biases)`` pairs."""
        for parameter_set, layer in zip(parameters, self.trainable_layers):
            layer.set_parameters(*parameter_set)

    def save_parameters(self, path):
        """Write the parameters to an ``.npz`` file (keys w0, b0, w1, ...).

        The book uses pickle here; this project never does, so the arrays
        are stored with ``np.savez`` at exactly ``path``.
        """
        arrays = {}
        for i, (weights, biases) in enumerate(self.get_parameters()):
            arrays[f'w{i}'] = weights
            arrays[f'b{i}'] = biases
        # A file object stops np.savez from appending '.npz' to the name.
        with open(path, 'wb') as f:
            np.savez(f, **arrays)

    def load_parameters(self, path):
        """Read parameters written by ``save_parameters`` (no pickle)."""
        with np.load(path, allow_pickle=False) as data:
            parameters = [(data[f'w{i}'], data[f'b{i}'])
                          for i in range(len(self.trainable_layers))]
        self.set_parameters(parameters)
