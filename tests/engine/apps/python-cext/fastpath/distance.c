/* Great-circle distance in kilometres, the hot loop of routeplan. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>

static PyObject *haversine(PyObject *self, PyObject *args) {
    double lat1, lon1, lat2, lon2;
    if (!PyArg_ParseTuple(args, "dddd", &lat1, &lon1, &lat2, &lon2)) return NULL;
    const double r = 6371.0, d = M_PI / 180.0;
    double a = pow(sin((lat2 - lat1) * d / 2), 2)
             + cos(lat1 * d) * cos(lat2 * d) * pow(sin((lon2 - lon1) * d / 2), 2);
    return PyFloat_FromDouble(2 * r * asin(sqrt(a)));
}

static PyMethodDef methods[] = {
    {"haversine", haversine, METH_VARARGS, "Distance in km between two (lat, lon) points."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_distance", NULL, -1, methods};

PyMODINIT_FUNC PyInit__distance(void) { return PyModule_Create(&module); }
