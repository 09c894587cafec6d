"""One peer framework for bench/src/peers.mjs: a long-lived process that trains the benchmark's
MLP or CNN on request, taking turns with the other frameworks (protocol of bench/src/lib/turns.mjs:
one JSON request per stdin line, one reply per stdout line starting with "@@").

    python bench/peers/peer.py torch|jax|keras THREADS

THREADS (1 or 2) pins the process to that many cores (sched_setaffinity) and sets the framework's
own thread pools to match. Data: MNIST-shaped random inputs in [0, 1) and one-hot labels of 10
classes (the speed of a step does not depend on the values), shuffled batches, Adam(1e-3), float32.
"""

import json
import os
import sys
import time

FRAMEWORK = sys.argv[1]
THREADS = int(sys.argv[2])
os.sched_setaffinity(0, set(range(THREADS)))
if FRAMEWORK == "jax":
    os.environ["XLA_FLAGS"] = (
        f"--xla_cpu_multi_thread_eigen={'true' if THREADS > 1 else 'false'} "
        f"intra_op_parallelism_threads={THREADS}"
    )
if FRAMEWORK == "keras":
    os.environ["KERAS_BACKEND"] = "tensorflow"
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[var] = str(THREADS)

import numpy as np  # noqa: E402

out = sys.stdout
sys.stdout = sys.stderr  # protocol replies own stdout


def reply(value):
    out.write("@@" + json.dumps(value) + "\n")
    out.flush()


def make_data(kind, samples, seed=0):
    rng = np.random.default_rng(seed)
    shape = (samples, 28, 28, 1) if kind == "cnn" else (samples, 784)
    x = rng.random(shape, dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, samples)]
    return x, y


# ------------------------------------------------------------------------------------------------
# PyTorch

def torch_job(kind, batch, samples):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    if kind == "mlp":
        model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    else:
        # NHWC data as for the others; torch wants NCHW, so the tensors are stored NCHW up front.
        model = nn.Sequential(
            nn.Conv2d(1, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(800, 10),
        )
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = make_data(kind, samples)
    xt = torch.from_numpy(x if kind == "mlp" else np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    yt = torch.from_numpy(y.argmax(1))
    state = {"perm": torch.randperm(samples), "at": 0}

    def run(steps):
        last = None
        for _ in range(steps):
            if state["at"] + batch > samples:
                state["perm"], state["at"] = torch.randperm(samples), 0
            idx = state["perm"][state["at"]: state["at"] + batch]
            state["at"] += batch
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            last = loss
        return float(last)

    return run, {"version": torch.__version__}


# ------------------------------------------------------------------------------------------------
# JAX + optax

def jax_job(kind, batch, samples):
    import jax
    import jax.numpy as jnp
    import optax

    key = jax.random.PRNGKey(0)

    def dense(key, n_in, n_out):
        w = jax.random.uniform(key, (n_in, n_out), minval=-1, maxval=1) * jnp.sqrt(6 / (n_in + n_out))
        return {"w": w, "b": jnp.zeros(n_out)}

    def conv(key, cin, cout):
        w = jax.random.uniform(key, (3, 3, cin, cout), minval=-1, maxval=1) * jnp.sqrt(6 / (9 * (cin + cout)))
        return {"w": w, "b": jnp.zeros(cout)}

    keys = jax.random.split(key, 3)
    if kind == "mlp":
        params = [dense(keys[0], 784, 256), dense(keys[1], 256, 128), dense(keys[2], 128, 10)]

        def forward(p, x):
            x = jax.nn.relu(x @ p[0]["w"] + p[0]["b"])
            x = jax.nn.relu(x @ p[1]["w"] + p[1]["b"])
            return x @ p[2]["w"] + p[2]["b"]
    else:
        params = [conv(keys[0], 1, 16), conv(keys[1], 16, 32), dense(keys[2], 800, 10)]
        dn = ("NHWC", "HWIO", "NHWC")

        def pool(x):
            return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")

        def forward(p, x):
            x = jax.lax.conv_general_dilated(x, p[0]["w"], (1, 1), "VALID", dimension_numbers=dn) + p[0]["b"]
            x = pool(jax.nn.relu(x))
            x = jax.lax.conv_general_dilated(x, p[1]["w"], (1, 1), "VALID", dimension_numbers=dn) + p[1]["b"]
            x = pool(jax.nn.relu(x))
            return x.reshape(x.shape[0], -1) @ p[2]["w"] + p[2]["b"]

    opt = optax.adam(1e-3)
    opt_state = opt.init(params)

    def loss_fn(p, x, y):
        return optax.softmax_cross_entropy(forward(p, x), y).mean()

    @jax.jit
    def step(p, s, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(p, x, y)
        updates, s = opt.update(grads, s, p)
        return optax.apply_updates(p, updates), s, loss

    x, y = make_data(kind, samples)
    xd, yd = jnp.asarray(x), jnp.asarray(y)
    rng = np.random.default_rng(1)
    state = {"params": params, "opt": opt_state, "perm": rng.permutation(samples), "at": 0}

    def run(steps):
        loss = None
        for _ in range(steps):
            if state["at"] + batch > samples:
                state["perm"], state["at"] = rng.permutation(samples), 0
            idx = jnp.asarray(state["perm"][state["at"]: state["at"] + batch])
            state["at"] += batch
            state["params"], state["opt"], loss = step(state["params"], state["opt"], xd[idx], yd[idx])
        return float(loss)  # waits for the device

    return run, {"version": jax.__version__, "optax": optax.__version__}


# ------------------------------------------------------------------------------------------------
# Keras 3 on TensorFlow

def keras_job(kind, batch, samples):
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(THREADS)
    tf.config.threading.set_inter_op_parallelism_threads(THREADS)
    import keras

    keras.utils.set_random_seed(0)
    if kind == "mlp":
        model = keras.Sequential([
            keras.Input((784,)),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ])
    else:
        model = keras.Sequential([
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(16, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(32, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy")
    x, y = make_data(kind, samples)

    def run(steps):
        # model.fit as a Keras user calls it: shuffled, default jit_compile ('auto').
        n = steps * batch
        start = np.random.default_rng(steps).integers(0, samples - n + 1) if n < samples else 0
        history = model.fit(x[start:start + n], y[start:start + n], batch_size=batch, epochs=1, shuffle=True, verbose=0)
        return float(history.history["loss"][-1])

    return run, {"version": keras.__version__, "tensorflow": tf.__version__}


JOBS = {"torch": torch_job, "jax": jax_job, "keras": keras_job}
jobs = {}


def handle(msg):
    op = msg["op"]
    if op == "init":
        return {"framework": FRAMEWORK, "threads": THREADS, "affinity": sorted(os.sched_getaffinity(0))}
    if op == "prepare":
        run, info = JOBS[FRAMEWORK](msg["kind"], msg["batch"], msg.get("samples", 60000))
        jobs[msg["id"]] = run
        return info
    if op == "fit":
        run = jobs[msg["id"]]
        wall0, cpu0 = time.perf_counter(), time.process_time()
        loss = run(msg["steps"])
        return {
            "wallMs": (time.perf_counter() - wall0) * 1000,
            "cpuMs": (time.process_time() - cpu0) * 1000,
            "steps": msg["steps"],
            "loss": loss,
        }
    if op == "load":
        return {"loadAverage": os.getloadavg()}
    raise ValueError(f"unknown op {op}")


for line in sys.stdin:
    try:
        reply(handle(json.loads(line)))
    except Exception as error:  # reported to the driver, which stops
        import traceback

        reply({"error": traceback.format_exc()})
