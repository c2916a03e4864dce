"""Chapter 19's Fashion-MNIST network (784-128-128-10), on the official idx files.

Put the four files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) from the Fashion-MNIST
GitHub page in a folder, then:
    python examples/fashion_mnist.py path/to/folder [--epochs 10]
Without the files it says where to put them and exits cleanly.
"""
import argparse
import sys

import jitnet as jn
from jitnet.datasets import FASHION_MNIST_LABELS, load_fashion_mnist

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("folder", nargs="?", default="fashion_mnist")
parser.add_argument("--epochs", type=int, default=10)
args = parser.parse_args()

try:
    X, y, X_test, y_test = load_fashion_mnist(args.folder)
except FileNotFoundError as missing:
    print(missing)
    sys.exit(0)
print(f"{len(X)} training and {len(X_test)} test images from {args.folder}")

jn.seed(0)
model = jn.Model()
model.add(jn.Dense(X.shape[1], 128))
model.add(jn.ReLU())
model.add(jn.Dense(128, 128))
model.add(jn.ReLU())
model.add(jn.Dense(128, 10))
model.add(jn.Softmax())
model.set(loss=jn.CategoricalCrossentropy(), optimizer=jn.Adam(decay=1e-3),
          accuracy=jn.CategoricalAccuracy())
model.finalize()
model.train(X, y, validation_data=(X_test, y_test), epochs=args.epochs,
            batch_size=128, shuffle=True, print_every=100)  # as chapter 19
model.save("fashion_mnist.model")
classes = model.output_layer_activation.predictions(model.predict(X_test[:5]))
print("first test images:", [FASHION_MNIST_LABELS[c] for c in classes])
print("saved fashion_mnist.model (jn.Model.load reads it back)")
