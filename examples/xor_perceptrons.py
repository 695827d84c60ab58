"""AND, OR, NOT, NAND as perceptrons, and XOR as a two-layer network of them.

One perceptron draws one line, so it cannot compute XOR; XOR = AND(NAND(a, b), OR(a, b))
stacks three of them in two layers.
"""
from nnfast.logic import AND, NAND, NOT, OR, XOR, truth_table, xor_network

for gate in (AND, OR, NAND):
    print(gate)
    for (a, b), out in gate.truth_table():
        print(f"  {a} {b} -> {out}")
print(NOT)
for (a,), out in NOT.truth_table():
    print(f"  {a} -> {out}")

net = xor_network()
print("XOR = AND(NAND(a, b), OR(a, b)) as", net)
print("  a b  XOR  network")
for (a, b), out in truth_table(XOR):
    print(f"  {a} {b}   {out}      {int(net.feedforward([a, b])[0])}")
