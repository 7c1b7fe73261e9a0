// sipproxyd: wires the parts together (placeholder until the daemon lands).
int main() { return 0; }
