/* The MPI tool information interface (MPI_T) answered in the upper half as an MPI without
 * variables: no control or performance variables, categories, events or sources, so every index,
 * name and handle is invalid, as the standard words it for such an MPI. The lower half's own
 * variables are not forwarded: their handles would point into a lower half that a restart
 * replaces. Initialization is counted (MPI_T_init_thread/MPI_T_finalize nest), and every other
 * call needs it, also before MPI_Init and after MPI_Finalize, as the standard allows. */
#include <mpi.h>
#include <stdlib.h>

static int initialized; /* MPI_T_init_thread calls not yet finalized */

/* Every answer but init's: not initialized, or the error the absence of variables gives. */
static int answer(int err)
{
	return __atomic_load_n(&initialized, __ATOMIC_SEQ_CST) > 0 ? err
								   : MPI_T_ERR_NOT_INITIALIZED;
}

static int count_zero(int *num)
{
	int rc = answer(MPI_SUCCESS);
	if (rc == MPI_SUCCESS)
		*num = 0;
	return rc;
}

int PMPI_T_init_thread(int required, int *provided)
{
	*provided = required > MPI_THREAD_MULTIPLE ? MPI_THREAD_MULTIPLE : required;
	__atomic_add_fetch(&initialized, 1, __ATOMIC_SEQ_CST);
	return MPI_SUCCESS;
}

int PMPI_T_finalize(void)
{
	int n = __atomic_load_n(&initialized, __ATOMIC_SEQ_CST);
	while (n > 0 && !__atomic_compare_exchange_n(&initialized, &n, n - 1, 0, __ATOMIC_SEQ_CST,
						     __ATOMIC_SEQ_CST))
		;
	return n > 0 ? MPI_SUCCESS : MPI_T_ERR_NOT_INITIALIZED;
}

/* ---- counts: none of anything ---------------------------------------------------------- */
int PMPI_T_cvar_get_num(int *num_cvar)
{
	return count_zero(num_cvar);
}
int PMPI_T_pvar_get_num(int *num_pvar)
{
	return count_zero(num_pvar);
}
int PMPI_T_category_get_num(int *num_cat)
{
	return count_zero(num_cat);
}
int PMPI_T_event_get_num(int *num_events)
{
	return count_zero(num_events);
}
int PMPI_T_source_get_num(int *num_sources)
{
	return count_zero(num_sources);
}
int PMPI_T_category_changed(int *update_number)
{
	return count_zero(update_number); /* the categories never change */
}

/* ---- lookups by name: no such name ------------------------------------------------------ */
int PMPI_T_cvar_get_index(const char *name, int *cvar_index)
{
	(void)name, (void)cvar_index;
	return answer(MPI_T_ERR_INVALID_NAME);
}
int PMPI_T_pvar_get_index(const char *name, int var_class, int *pvar_index)
{
	(void)name, (void)var_class, (void)pvar_index;
	return answer(MPI_T_ERR_INVALID_NAME);
}
int PMPI_T_category_get_index(const char *name, int *cat_index)
{
	(void)name, (void)cat_index;
	return answer(MPI_T_ERR_INVALID_NAME);
}
int PMPI_T_event_get_index(const char *name, int *event_index)
{
	(void)name, (void)event_index;
	return answer(MPI_T_ERR_INVALID_NAME);
}

/* ---- by index: no valid index ----------------------------------------------------------- */
int PMPI_T_cvar_get_info(int cvar_index, char *name, int *name_len, int *verbosity,
			 MPI_Datatype *datatype, MPI_T_enum *enumtype, char *desc, int *desc_len,
			 int *bind, int *scope)
{
	(void)cvar_index, (void)name, (void)name_len, (void)verbosity, (void)datatype;
	(void)enumtype, (void)desc, (void)desc_len, (void)bind, (void)scope;
	return answer(MPI_T_ERR_INVALID_INDEX);
}
int PMPI_T_cvar_handle_alloc(int cvar_index, void *obj_handle, MPI_T_cvar_handle *handle,
			     int *count)
{
	(void)cvar_index, (void)obj_handle, (void)handle, (void)count;
	return answer(MPI_T_ERR_INVALID_INDEX);
}
int PMPI_T_pvar_get_info(int pvar_index, char *name, int *name_len, int *verbosity, int *var_class,
			 MPI_Datatype *datatype, MPI_T_enum *enumtype, char *desc, int *desc_len,
			 int *bind, int *readonly, int *continuous, int *atomic)
{
	(void)pvar_index, (void)name, (void)name_len, (void)verbosity, (void)var_class;
	(void)datatype, (void)enumtype, (void)desc, (void)desc_len, (void)bind, (void)readonly;
	(void)continuous, (void)atomic;
	return answer(MPI_T_ERR_INVALID_INDEX);
}
int PMPI_T_category_get_info(int cat_index, char *name, int *name_len, char *desc, int *desc_len,
			     int *num_cvars, int *num_pvars, int *num_categories)
{
	(void)cat_index, (void)name, (void)name_len, (void)desc, (void)desc_len;
	(void)num_cvars, (void)num_pvars, (void)num_categories;
	return answer(MPI_T_ERR_INVALID_INDEX);
}
int PMPI_T_category_get_cvars(int cat_index, int len, int indices[])
{
	(void)cat_index, (void)len, (void)indices;
	return answer(MPI_T_ERR_INVALID_INDEX);
}
int PMPI_T_category_get_pvars(int cat_index, int len, int indices[])
{
	(void)cat_index, (void)len, (void)indices;
	return answer(MPI_T_ERR_INVALID_INDEX);
}
int PMPI_T_category_get_categories(int cat_index, int len, int indices[])
{
	(void)cat_index, (void)len, (void)indices;
	return answer(MPI_T_ERR_INVALID_INDEX);
}
int PMPI_T_category_get_events(int cat_index, int len, int indices[])
{
	(void)cat_index, (void)len, (void)indices;
	return answer(MPI_T_ERR_INVALID_INDEX);
}
int PMPI_T_category_get_num_events(int cat_index, int *num_events)
{
	(void)cat_index, (void)num_events;
	return answer(MPI_T_ERR_INVALID_INDEX);
}
int PMPI_T_event_get_info(int event_index, char *name, int *name_len, int *verbosity,
			  MPI_Datatype array_of_datatypes[], MPI_Aint array_of_displacements[],
			  int *num_elements, MPI_T_enum *enumtype, MPI_Info *info, char *desc,
			  int *desc_len, int *bind)
{
	(void)event_index, (void)name, (void)name_len, (void)verbosity, (void)array_of_datatypes;
	(void)array_of_displacements, (void)num_elements, (void)enumtype, (void)info, (void)desc;
	(void)desc_len, (void)bind;
	return answer(MPI_T_ERR_INVALID_INDEX);
}
int PMPI_T_event_handle_alloc(int event_index, void *obj_handle, MPI_Info info,
			      MPI_T_event_registration *event_registration)
{
	(void)event_index, (void)obj_handle, (void)info, (void)event_registration;
	return answer(MPI_T_ERR_INVALID_INDEX);
}
int PMPI_T_source_get_info(int source_index, char *name, int *name_len, char *desc, int *desc_len,
			   MPI_T_source_order *ordering, MPI_Count *ticks_per_second,
			   MPI_Count *max_ticks, MPI_Info *info)
{
	(void)source_index, (void)name, (void)name_len, (void)desc, (void)desc_len;
	(void)ordering, (void)ticks_per_second, (void)max_ticks, (void)info;
	return answer(MPI_T_ERR_INVALID_INDEX);
}
int PMPI_T_source_get_timestamp(int source_index, MPI_Count *timestamp)
{
	(void)source_index, (void)timestamp;
	return answer(MPI_T_ERR_INVALID_INDEX);
}

/* ---- handles: none can exist ------------------------------------------------------------ */
int PMPI_T_cvar_handle_free(MPI_T_cvar_handle *handle)
{
	(void)handle;
	return answer(MPI_T_ERR_INVALID_HANDLE);
}
int PMPI_T_cvar_read(MPI_T_cvar_handle handle, void *buf)
{
	(void)handle, (void)buf;
	return answer(MPI_T_ERR_INVALID_HANDLE);
}
int PMPI_T_cvar_write(MPI_T_cvar_handle handle, const void *buf)
{
	(void)handle, (void)buf;
	return answer(MPI_T_ERR_INVALID_HANDLE);
}
int PMPI_T_enum_get_info(MPI_T_enum enumtype, int *num, char *name, int *name_len)
{
	(void)enumtype, (void)num, (void)name, (void)name_len;
	return answer(MPI_T_ERR_INVALID_HANDLE);
}
int PMPI_T_enum_get_item(MPI_T_enum enumtype, int indx, int *value, char *name, int *name_len)
{
	(void)enumtype, (void)indx, (void)value, (void)name, (void)name_len;
	return answer(MPI_T_ERR_INVALID_HANDLE);
}
int PMPI_T_event_callback_get_info(MPI_T_event_registration event_registration,
				   MPI_T_cb_safety cb_safety, MPI_Info *info_used)
{
	(void)event_registration, (void)cb_safety, (void)info_used;
	return answer(MPI_T_ERR_INVALID_HANDLE);
}
int PMPI_T_event_callback_set_info(MPI_T_event_registration event_registration,
				   MPI_T_cb_safety cb_safety, MPI_Info info)
{
	(void)event_registration, (void)cb_safety, (void)info;
	return answer(MPI_T_ERR_INVALID_HANDLE);
}
int PMPI_T_event_copy(MPI_T_event_instance event_instance, void *buffer)
{
	(void)event_instance, (void)buffer;
	return answer(MPI_T_ERR_INVALID_HANDLE);
}
int PMPI_T_event_get_source(MPI_T_event_instance event_instance, int *source_index)
{
	(void)event_instance, (void)source_index;
	return answer(MPI_T_ERR_INVALID_HANDLE);
}
int PMPI_T_event_get_timestamp(MPI_T_event_instance event_instance, MPI_Count *event_timestamp)
{
	(void)event_instance, (void)event_timestamp;
	return answer(MPI_T_ERR_INVALID_HANDLE);
}
int PMPI_T_event_handle_free(MPI_T_event_registration event_registration, void *user_data,
			     MPI_T_event_free_cb_function free_cb_function)
{
	(void)event_registration, (void)user_data, (void)free_cb_function;
	return answer(MPI_T_ERR_INVALID_HANDLE);
}
int PMPI_T_event_handle_get_info(MPI_T_event_registration event_registration, MPI_Info *info_used)
{
	(void)event_registration, (void)info_used;
	return answer(MPI_T_ERR_INVALID_HANDLE);
}
int PMPI_T_event_handle_set_info(MPI_T_event_registration event_registration, MPI_Info info)
{
	(void)event_registration, (void)info;
	return answer(MPI_T_ERR_INVALID_HANDLE);
}
int PMPI_T_event_read(MPI_T_event_instance event_instance, int element_index, void *buffer)
{
	(void)event_instance, (void)element_index, (void)buffer;
	return answer(MPI_T_ERR_INVALID_HANDLE);
}
int PMPI_T_event_register_callback(MPI_T_event_registration event_registration,
				   MPI_T_cb_safety cb_safety, MPI_Info info, void *user_data,
				   MPI_T_event_cb_function event_cb_function)
{
	(void)event_registration, (void)cb_safety, (void)info, (void)user_data;
	(void)event_cb_function;
	return answer(MPI_T_ERR_INVALID_HANDLE);
}
int PMPI_T_event_set_dropped_handler(MPI_T_event_registration event_registration,
				     MPI_T_event_dropped_cb_function dropped_cb_function)
{
	(void)event_registration, (void)dropped_cb_function;
	return answer(MPI_T_ERR_INVALID_HANDLE);
}

/* ---- performance variable sessions: made and freed, but no handle can join them --------- */
/* A session is a token of its own address (never MPI_T_PVAR_SESSION_NULL). */
int PMPI_T_pvar_session_create(MPI_T_pvar_session *session)
{
	int rc = answer(MPI_SUCCESS);
	if (rc != MPI_SUCCESS)
		return rc;
	void *token = malloc(1);
	if (!token)
		return MPI_T_ERR_MEMORY;
	*session = (MPI_T_pvar_session)token;
	return MPI_SUCCESS;
}
int PMPI_T_pvar_session_free(MPI_T_pvar_session *session)
{
	int rc = answer(MPI_SUCCESS);
	if (rc != MPI_SUCCESS)
		return rc;
	if (*session == MPI_T_PVAR_SESSION_NULL)
		return MPI_T_ERR_INVALID_SESSION;
	free((void *)*session);
	*session = MPI_T_PVAR_SESSION_NULL;
	return MPI_SUCCESS;
}
int PMPI_T_pvar_handle_alloc(MPI_T_pvar_session session, int pvar_index, void *obj_handle,
			     MPI_T_pvar_handle *handle, int *count)
{
	(void)session, (void)pvar_index, (void)obj_handle, (void)handle, (void)count;
	return answer(MPI_T_ERR_INVALID_INDEX);
}
int PMPI_T_pvar_handle_free(MPI_T_pvar_session session, MPI_T_pvar_handle *handle)
{
	(void)session, (void)handle;
	return answer(MPI_T_ERR_INVALID_HANDLE);
}
int PMPI_T_pvar_read(MPI_T_pvar_session session, MPI_T_pvar_handle handle, void *buf)
{
	(void)session, (void)handle, (void)buf;
	return answer(MPI_T_ERR_INVALID_HANDLE);
}
int PMPI_T_pvar_readreset(MPI_T_pvar_session session, MPI_T_pvar_handle handle, void *buf)
{
	(void)session, (void)handle, (void)buf;
	return answer(MPI_T_ERR_INVALID_HANDLE);
}
int PMPI_T_pvar_reset(MPI_T_pvar_session session, MPI_T_pvar_handle handle)
{
	(void)session, (void)handle;
	return answer(MPI_T_ERR_INVALID_HANDLE);
}
int PMPI_T_pvar_start(MPI_T_pvar_session session, MPI_T_pvar_handle handle)
{
	(void)session, (void)handle;
	return answer(MPI_T_ERR_INVALID_HANDLE);
}
int PMPI_T_pvar_stop(MPI_T_pvar_session session, MPI_T_pvar_handle handle)
{
	(void)session, (void)handle;
	return answer(MPI_T_ERR_INVALID_HANDLE);
}
int PMPI_T_pvar_write(MPI_T_pvar_session session, MPI_T_pvar_handle handle, const void *buf)
{
	(void)session, (void)handle, (void)buf;
	return answer(MPI_T_ERR_INVALID_HANDLE);
}

/* The MPI_ names: weak aliases of the PMPI_ ones (profiling interface). */
#define SC_STR(x) #x
#define SC_WEAK(name) _Pragma(SC_STR(weak MPI_##name = PMPI_##name))
SC_WEAK(T_init_thread)
SC_WEAK(T_finalize)
SC_WEAK(T_cvar_get_num)
SC_WEAK(T_pvar_get_num)
SC_WEAK(T_category_get_num)
SC_WEAK(T_event_get_num)
SC_WEAK(T_source_get_num)
SC_WEAK(T_category_changed)
SC_WEAK(T_cvar_get_index)
SC_WEAK(T_pvar_get_index)
SC_WEAK(T_category_get_index)
SC_WEAK(T_event_get_index)
SC_WEAK(T_cvar_get_info)
SC_WEAK(T_cvar_handle_alloc)
SC_WEAK(T_pvar_get_info)
SC_WEAK(T_category_get_info)
SC_WEAK(T_category_get_cvars)
SC_WEAK(T_category_get_pvars)
SC_WEAK(T_category_get_categories)
SC_WEAK(T_category_get_events)
SC_WEAK(T_category_get_num_events)
SC_WEAK(T_event_get_info)
SC_WEAK(T_event_handle_alloc)
SC_WEAK(T_source_get_info)
SC_WEAK(T_source_get_timestamp)
SC_WEAK(T_cvar_handle_free)
SC_WEAK(T_cvar_read)
SC_WEAK(T_cvar_write)
SC_WEAK(T_enum_get_info)
SC_WEAK(T_enum_get_item)
SC_WEAK(T_event_callback_get_info)
SC_WEAK(T_event_callback_set_info)
SC_WEAK(T_event_copy)
SC_WEAK(T_event_get_source)
SC_WEAK(T_event_get_timestamp)
SC_WEAK(T_event_handle_free)
SC_WEAK(T_event_handle_get_info)
SC_WEAK(T_event_handle_set_info)
SC_WEAK(T_event_read)
SC_WEAK(T_event_register_callback)
SC_WEAK(T_event_set_dropped_handler)
SC_WEAK(T_pvar_session_create)
SC_WEAK(T_pvar_session_free)
SC_WEAK(T_pvar_handle_alloc)
SC_WEAK(T_pvar_handle_free)
SC_WEAK(T_pvar_read)
SC_WEAK(T_pvar_readreset)
SC_WEAK(T_pvar_reset)
SC_WEAK(T_pvar_start)
SC_WEAK(T_pvar_stop)
SC_WEAK(T_pvar_write)
