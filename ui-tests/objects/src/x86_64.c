/* A host (x86-64) object: valid ELF, wrong machine. */
int add(int a, int b)
{
	return a + b;
}
